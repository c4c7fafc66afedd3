import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { normalizePolledRow, parseSalesforceDate } from './polled-row.js';

const T0 = '2024-05-29T16:26:40.000+0000';
const Z0 = '2024-05-29T16:26:40.000Z';
const T1 = '2024-05-29T16:30:00.000+0000';
const T2 = '2024-05-29T16:45:00.000+0000';
const ms = (s: string) => parseSalesforceDate(s)!;

function row(fields: Record<string, unknown>) {
  return {
    attributes: { type: 'Account', url: '/services/data/v62.0/sobjects/Account/001000000000001AAA' },
    Id: '001000000000001AAA',
    CreatedDate: T0,
    LastModifiedDate: T0,
    SystemModstamp: T0,
    ...fields,
  };
}

describe('normalizePolledRow', () => {
  it('parses REST datetimes (+0000 offsets) to epoch ms', () => {
    expect(parseSalesforceDate('2024-05-29T16:26:40.000+0000')).toBe(Date.UTC(2024, 4, 29, 16, 26, 40));
    expect(parseSalesforceDate('2024-05-29T16:26:40Z')).toBe(Date.UTC(2024, 4, 29, 16, 26, 40));
    expect(parseSalesforceDate('yesterday')).toBeUndefined();
    expect(parseSalesforceDate(null)).toBeUndefined();
  });

  it('a fresh row is a CREATE at its SystemModstamp, with every value and no attributes', () => {
    const c = normalizePolledRow({ object: 'Account', row: row({ Name: 'Acme', BillingCity: 'Paris' }), detectedBy: 'polling' });
    expect(c).toEqual({
      object: 'Account',
      recordId: '001000000000001AAA',
      changeType: 'CREATE',
      changedFields: [],
      // Datetimes in the one form change events use too (REST answered `+0000`).
      record: { Id: '001000000000001AAA', CreatedDate: Z0, LastModifiedDate: Z0, SystemModstamp: Z0, Name: 'Acme', BillingCity: 'Paris' },
      commitTimestamp: ms(T0),
      detectedBy: 'polling',
    });
  });

  it('a re-read of the creation state stays a CREATE even with a snapshot (overlap window)', () => {
    const r = row({ Name: 'Acme' });
    expect(normalizePolledRow({ object: 'Account', row: r, previous: { ...r }, detectedBy: 'polling' }).changeType).toBe('CREATE');
  });

  it('no snapshot, CreatedDate == LastModifiedDate but a later system bump: CREATE at CreatedDate', () => {
    const c = normalizePolledRow({ object: 'Account', row: row({ SystemModstamp: T1 }), detectedBy: 'polling' });
    expect(c).toMatchObject({ changeType: 'CREATE', commitTimestamp: ms(T0) });
  });

  it('an edited row is an UPDATE at SystemModstamp; without a snapshot changedFields are unknown, and say so', () => {
    const c = normalizePolledRow({ object: 'Account', row: row({ LastModifiedDate: T1, SystemModstamp: T1, Name: 'B' }), detectedBy: 'polling' });
    expect(c).toMatchObject({ changeType: 'UPDATE', commitTimestamp: ms(T1), changedFields: [], changedFieldsUnknown: true, record: { Name: 'B' } });
  });

  it('with a snapshot, changedFields are the differences, in change-event naming', () => {
    const previous = { Id: '001000000000001AAA', Name: 'A', BillingCity: 'Paris', Phone: '1', LastModifiedDate: T0, SystemModstamp: T0, CreatedDate: T0 };
    const c = normalizePolledRow({
      object: 'Account',
      row: row({ Name: 'A', BillingCity: 'Lyon', Phone: '1', LastModifiedDate: T2, SystemModstamp: T2, NewlySelected__c: 5 }),
      previous,
      detectedBy: 'polling',
    });
    expect(c.changeType).toBe('UPDATE');
    expect(c.changedFields).toEqual(['LastModifiedDate', 'BillingAddress.City']);
    expect(c.changedFieldsUnknown).toBeUndefined();
  });

  it('person-name components map to Name.* on Contact/Lead', () => {
    const c = normalizePolledRow({
      object: 'Contact',
      row: { ...row({ LastName: 'Doe', MailingCity: 'Paris' }), Id: '003000000000001AAA', LastModifiedDate: T1, SystemModstamp: T1 },
      previous: { LastName: 'Roe', MailingCity: 'Lyon' },
      detectedBy: 'polling',
    });
    expect(c.changedFields).toEqual(['Name.LastName', 'MailingAddress.City']);
  });

  it('equal instants rendered differently are not a change', () => {
    const c = normalizePolledRow({
      object: 'Account',
      row: row({ LastModifiedDate: T1, SystemModstamp: T1, Due__c: '2024-05-29T16:26:40.000+0000' }),
      previous: { Due__c: '2024-05-29T16:26:40Z', LastModifiedDate: T1 },
      detectedBy: 'polling',
    });
    expect(c.changedFields).toEqual([]);
  });

  it('getDeleted: a DELETE at deletedDate', () => {
    const c = normalizePolledRow({
      object: 'Account',
      row: { Id: '001000000000001AAA' },
      kind: 'deleted',
      deletedDate: '2024-05-29T17:00:00.000+0000',
      detectedBy: 'reconcile',
    });
    expect(c).toEqual({
      object: 'Account',
      recordId: '001000000000001AAA',
      changeType: 'DELETE',
      changedFields: [],
      record: { Id: '001000000000001AAA' },
      commitTimestamp: Date.UTC(2024, 4, 29, 17),
      detectedBy: 'reconcile',
    });
  });

  it('queryAll IsDeleted row: a DELETE at its SystemModstamp; 15-character ids become 18', () => {
    const c = normalizePolledRow({ object: 'Account', row: row({ Id: '001D000000IqhSL', IsDeleted: true, SystemModstamp: T2 }), detectedBy: 'polling' });
    expect(c).toMatchObject({ changeType: 'DELETE', commitTimestamp: ms(T2), recordId: '001D000000IqhSLIAZ' });
  });

  it('undeleted rows are UNDELETE at SystemModstamp', () => {
    const c = normalizePolledRow({ object: 'Account', row: row({ SystemModstamp: T2, LastModifiedDate: T2 }), kind: 'undeleted', detectedBy: 'polling' });
    expect(c).toMatchObject({ changeType: 'UNDELETE', commitTimestamp: ms(T2) });
  });

  it('malformed rows throw a ValidationError', () => {
    expect(() => normalizePolledRow({ object: 'Account', row: { Name: 'x' }, detectedBy: 'polling' })).toThrow(ValidationError);
    expect(() => normalizePolledRow({ object: 'Account', row: { Id: '001000000000001AAA' }, detectedBy: 'polling' })).toThrow(/SystemModstamp/);
  });
});
