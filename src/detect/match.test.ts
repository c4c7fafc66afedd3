import { describe, expect, it } from 'vitest';
import type { ForcehookEvent } from '../events/schema.js';
import { matches } from './match.js';

function event(type: string, data: Partial<ForcehookEvent['data']> = {}): Pick<ForcehookEvent, 'type' | 'data'> {
  return {
    type: type as ForcehookEvent['type'],
    data: {
      orgId: '00D000000000001AAA',
      connectionId: 'c',
      object: 'Account',
      recordId: '001000000000001AAA',
      changeType: 'UPDATE',
      changedFields: ['BillingAddress.City', 'LastModifiedDate'],
      record: {},
      detectedBy: 'cdc',
      commitTimestamp: 1,
      ...data,
    },
  };
}

describe('matches', () => {
  const updated = event('salesforce.record.updated');

  it('trigger must correspond to the type', () => {
    expect(matches({ trigger: 'record.updated' }, updated)).toBe(true);
    expect(matches({ trigger: 'record.created' }, updated)).toBe(false);
  });

  it('object is case-insensitive', () => {
    expect(matches({ trigger: 'record.updated', object: 'account' }, updated)).toBe(true);
    expect(matches({ trigger: 'record.updated', object: 'Contact' }, updated)).toBe(false);
  });

  it('fields: any one changed, case-insensitive, compound parent or REST spelling', () => {
    expect(matches({ trigger: 'record.updated', fields: ['billingaddress.city'] }, updated)).toBe(true);
    expect(matches({ trigger: 'record.updated', fields: ['BillingAddress'] }, updated)).toBe(true);
    expect(matches({ trigger: 'record.updated', fields: ['BillingCity'] }, updated)).toBe(true);
    expect(matches({ trigger: 'record.updated', fields: ['Phone', 'lastmodifieddate'] }, updated)).toBe(true);
    expect(matches({ trigger: 'record.updated', fields: ['Phone'] }, updated)).toBe(false);
    expect(matches({ trigger: 'record.updated', fields: ['Billing'] }, updated)).toBe(false);
    expect(matches({ trigger: 'record.updated', fields: [] }, updated)).toBe(true);
  });

  it('fields: an update whose changed fields are unknown (read back after a gap, a first poll) matches', () => {
    const readBack = event('salesforce.record.updated', { changedFields: [], changedFieldsUnknown: true, detectedBy: 'reconcile', record: { Phone: '1' } });
    expect(matches({ trigger: 'record.updated', fields: ['Phone'] }, readBack)).toBe(true);
    expect(matches({ trigger: 'record.updated', fields: ['BillingAddress'] }, readBack)).toBe(true);
    // Known to have changed nothing listed: still filtered.
    expect(matches({ trigger: 'record.updated', fields: ['Phone'] }, event('salesforce.record.updated', { changedFields: [] }))).toBe(false);
  });

  it('fields do not narrow other triggers', () => {
    expect(matches({ trigger: 'record.created', fields: ['Phone'] }, event('salesforce.record.created', { changedFields: [] }))).toBe(true);
  });

  it('campaignId narrows campaign triggers, across 15/18-character forms', () => {
    const added = event('salesforce.campaign_member.added', { object: 'CampaignMember', campaignId: '701000000000001AAA' });
    expect(matches({ trigger: 'campaign_member.added' }, added)).toBe(true);
    expect(matches({ trigger: 'campaign_member.added', campaignId: '701000000000001' }, added)).toBe(true);
    expect(matches({ trigger: 'campaign_member.added', campaignId: '701000000000002AAA' }, added)).toBe(false);
    expect(matches({ trigger: 'campaign_opportunity.added', campaignId: '701000000000001AAA' }, added)).toBe(false);
  });
});
