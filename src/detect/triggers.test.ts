import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { forcehookEventSchema, type ForcehookEvent } from '../events/schema.js';
import { normalizeChangeEvent } from '../normalize/change-event.js';
import { cdcMessage, fixture, type CdcSpec } from '../../testkit/fixtures/normalize/load.js';
import { normalizePolledRow } from '../normalize/polled-row.js';
import type { ChangesResult, RawChange } from '../normalize/raw-change.js';
import { detectBatch } from './batch.js';
import { createDetector } from './index.js';
import { orderTransaction } from './transaction.js';
import { detectTriggers } from './triggers.js';

const ORG = '00D000000000001AAA';
const ctx = { orgId: ORG, connectionId: 'conn-1' };
const TS = 1_717_000_000_000;
const ISO = new Date(TS).toISOString();
const SF_TS = ISO.replace('Z', '+0000');

function cdc(spec: CdcSpec): RawChange[] {
  const r = normalizeChangeEvent(cdcMessage({ commitTimestamp: TS, ...spec }), ctx);
  expect(r.kind).toBe('changes');
  return (r as ChangesResult).changes;
}
function cdcOne(spec: CdcSpec): RawChange {
  return cdc(spec)[0]!;
}

/** Every event must satisfy our schema and the CloudEvents SDK's own validation. */
function valid(events: ForcehookEvent[]): ForcehookEvent[] {
  for (const e of events) {
    expect(forcehookEventSchema.safeParse(e).error).toBeUndefined();
    const ce = new CloudEvent(e as never); // strict by default: throws on an invalid event
    expect(ce.validate()).toBe(true);
    const back = new CloudEvent(JSON.parse(JSON.stringify(ce)) as never);
    expect(back.id).toBe(e.id);
    expect(back.data).toEqual(e.data);
  }
  return events;
}

const ACC = '001000000000001AAA';
const OPP = '006000000000001AAA';
const CMP = '701000000000001AAA';
const CMP2 = '701000000000002AAA';
const LEAD = '00Q000000000001AAA';
const CON = '003000000000001AAA';
const CM = '00v000000000001AAA';

describe('record.* triggers', () => {
  it.each([
    ['CREATE', 'salesforce.record.created'],
    ['UPDATE', 'salesforce.record.updated'],
    ['DELETE', 'salesforce.record.deleted'],
    ['UNDELETE', 'salesforce.record.undeleted'],
  ])('%s -> %s, a complete CloudEvent', (changeType, type) => {
    const [e, ...rest] = valid(detectTriggers(cdcOne({ entityName: 'Account', recordIds: [ACC], changeType, body: { Name: 'Acme' } }), ctx));
    expect(rest).toEqual([]);
    expect(e).toMatchObject({
      specversion: '1.0',
      type,
      source: `/salesforce/${ORG}`,
      subject: ACC,
      time: ISO,
      datacontenttype: 'application/json',
      data: {
        orgId: ORG,
        connectionId: 'conn-1',
        object: 'Account',
        recordId: ACC,
        changeType,
        detectedBy: 'cdc',
        commitTimestamp: TS,
        commitNumber: '1234567',
        transactionKey: 'tx-1',
        sequenceNumber: 1,
        replayId: '1',
        commitUser: '005000000000001AAA',
      },
    });
  });

  it('works for custom objects, from the captured sample', () => {
    const r = normalizeChangeEvent(fixture('employee-update-emp.data.json', '/data/Employee__ChangeEvent'), ctx) as ChangesResult;
    const [e] = valid(detectTriggers(r.changes[0]!, ctx));
    expect(e).toMatchObject({
      type: 'salesforce.record.updated',
      subject: 'a097F00000XpKo9QAF',
      data: { object: 'Employee__c', changedFields: ['LastModifiedDate', 'Tenure__c'] },
    });
  });

  it('a merged CDC event yields one event per record, with distinct ids', () => {
    const r = normalizeChangeEvent(fixture('account-update-merged.json'), ctx) as ChangesResult;
    const events = valid(detectBatch(r.changes, ctx));
    expect(events.map((e) => e.subject)).toEqual(['0015f00002JUZPDAA5', '0015f00002JUZPXAA5', '0015f00002JUZPcAAP']);
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    expect(events.every((e) => e.data.commitNumber === '1652977933433528300')).toBe(true);
  });

  it('the same CDC event delivered twice gets the same ids', () => {
    const msg = cdcMessage({ entityName: 'Account', recordIds: [ACC], changeType: 'UPDATE', changedFields: ['Name'], body: { Name: 'x' } });
    const once = (normalizeChangeEvent(msg, ctx) as ChangesResult).changes;
    const twice = (normalizeChangeEvent(structuredClone(msg), ctx) as ChangesResult).changes;
    expect(detectBatch(once, ctx).map((e) => e.id)).toEqual(detectBatch(twice, ctx).map((e) => e.id));
    // ... also when both copies land in one batch (a replay overlapping live delivery).
    const [a, b] = detectBatch([...once, ...twice], ctx);
    expect(a!.id).toBe(b!.id);
  });
});

describe('campaign_member.added', () => {
  it('a CampaignMember CREATE is record.created plus campaign_member.added with lead', () => {
    const change = cdcOne({ entityName: 'CampaignMember', recordIds: [CM], changeType: 'CREATE', body: { CampaignId: CMP, LeadId: LEAD, Status: 'Sent' } });
    const [rec, added] = valid(detectTriggers(change, ctx));
    expect(rec!.type).toBe('salesforce.record.created');
    expect(added).toMatchObject({ type: 'salesforce.campaign_member.added', subject: CM, data: { object: 'CampaignMember', campaignId: CMP, leadId: LEAD } });
    expect(added!.data.contactId).toBeUndefined();
    expect(added!.id).not.toBe(rec!.id);
  });

  it('with a contact, from polling, with 15-character reference ids', () => {
    const change = normalizePolledRow({
      object: 'CampaignMember',
      row: { Id: CM, CampaignId: CMP.slice(0, 15), ContactId: CON.slice(0, 15), CreatedDate: SF_TS, LastModifiedDate: SF_TS, SystemModstamp: SF_TS },
      detectedBy: 'polling',
    });
    const [, added] = valid(detectTriggers(change, ctx));
    expect(added!.data).toMatchObject({ campaignId: CMP, contactId: CON, detectedBy: 'polling' });
  });

  it('updates and deletes of members are not additions', () => {
    for (const changeType of ['UPDATE', 'DELETE']) {
      const change = cdcOne({ entityName: 'CampaignMember', recordIds: [CM], changeType, changedFields: ['Status'], body: { Status: 'Responded' } });
      expect(detectTriggers(change, ctx).map((e) => e.type)).toEqual([changeType === 'UPDATE' ? 'salesforce.record.updated' : 'salesforce.record.deleted']);
    }
  });
});

describe('campaign_opportunity.added', () => {
  const types = (events: ForcehookEvent[]) => events.map((e) => e.type);

  it('an Opportunity created with a campaign', () => {
    const events = valid(
      detectTriggers(cdcOne({ entityName: 'Opportunity', recordIds: [OPP], changeType: 'CREATE', body: { Name: 'Big', CampaignId: CMP } }), ctx),
    );
    expect(types(events)).toEqual(['salesforce.record.created', 'salesforce.campaign_opportunity.added']);
    expect(events[1]!.data).toMatchObject({ campaignId: CMP, opportunityId: OPP });
  });

  it('not when created without one', () => {
    expect(
      types(detectTriggers(cdcOne({ entityName: 'Opportunity', recordIds: [OPP], changeType: 'CREATE', body: { Name: 'Big', CampaignId: null } }), ctx)),
    ).toEqual(['salesforce.record.created']);
  });

  it('CDC UPDATE with CampaignId among changedFields and a new value', () => {
    const change = cdcOne({
      entityName: 'Opportunity',
      recordIds: [OPP],
      changeType: 'UPDATE',
      changedFields: ['CampaignId', 'LastModifiedDate'],
      body: { CampaignId: CMP },
    });
    expect(types(valid(detectTriggers(change, ctx)))).toEqual(['salesforce.record.updated', 'salesforce.campaign_opportunity.added']);
  });

  it('not when CDC clears the campaign or another field changed', () => {
    const cleared = cdcOne({ entityName: 'Opportunity', recordIds: [OPP], changeType: 'UPDATE', changedFields: ['CampaignId'], body: { CampaignId: null } });
    expect(types(detectTriggers(cleared, ctx))).toEqual(['salesforce.record.updated']);
    // Enrichment can put an unchanged CampaignId in the body: changedFields decides.
    const other = cdcOne({
      entityName: 'Opportunity',
      recordIds: [OPP],
      changeType: 'UPDATE',
      changedFields: ['Amount'],
      body: { Amount: 5, CampaignId: CMP },
    });
    expect(types(detectTriggers(other, { ...ctx, previousCampaignId: null }))).toEqual(['salesforce.record.updated']);
  });

  it('polling: decided by the last known CampaignId', () => {
    const polled = (campaignId: string | null) =>
      normalizePolledRow({
        object: 'Opportunity',
        row: { Id: OPP, CampaignId: campaignId, CreatedDate: '2024-01-01T00:00:00.000+0000', LastModifiedDate: SF_TS, SystemModstamp: SF_TS },
        detectedBy: 'polling',
      });
    expect(types(detectTriggers(polled(CMP), { ...ctx, previousCampaignId: null }))).toContain('salesforce.campaign_opportunity.added');
    expect(types(detectTriggers(polled(CMP2), { ...ctx, previousCampaignId: CMP }))).toContain('salesforce.campaign_opportunity.added');
    expect(types(detectTriggers(polled(CMP), { ...ctx, previousCampaignId: CMP.slice(0, 15) }))).toEqual(['salesforce.record.updated']);
    expect(types(detectTriggers(polled(null), { ...ctx, previousCampaignId: CMP }))).toEqual(['salesforce.record.updated']);
    // Unknown history (no snapshot: the first poll after a restart): the campaign may be the change, so it is
    // announced; the next poll compares against the remembered value and stays quiet.
    expect(types(valid(detectTriggers(polled(CMP), ctx)))).toEqual(['salesforce.record.updated', 'salesforce.campaign_opportunity.added']);
    expect(types(detectTriggers(polled(null), ctx))).toEqual(['salesforce.record.updated']);
  });

  it('read back after a gap or a reconcile: decided by the CampaignId the record has, the event says its changed fields are unknown', () => {
    const readBack = (campaignId: string | null): RawChange => ({
      object: 'Opportunity',
      recordId: OPP,
      changeType: 'UPDATE',
      changedFields: [],
      changedFieldsUnknown: true,
      record: { Id: OPP, CampaignId: campaignId },
      commitTimestamp: TS,
      transactionKey: 'tx-1',
      sequenceNumber: 2,
      detectedBy: 'reconcile',
    });
    const events = valid(detectTriggers(readBack(CMP), ctx));
    expect(types(events)).toEqual(['salesforce.record.updated', 'salesforce.campaign_opportunity.added']);
    expect(events.map((e) => e.data.changedFieldsUnknown)).toEqual([true, true]);
    expect(types(detectTriggers(readBack(null), ctx))).toEqual(['salesforce.record.updated']);
    // A CDC update says what changed: no flag.
    const streamed = detectTriggers(
      cdcOne({ entityName: 'Opportunity', recordIds: [OPP], changeType: 'UPDATE', changedFields: ['Amount'], body: { Amount: 1 } }),
      ctx,
    );
    expect(streamed[0]!.data.changedFieldsUnknown).toBeUndefined();
  });

  it('polling with a snapshot diff but no explicit previous id', () => {
    const change = normalizePolledRow({
      object: 'Opportunity',
      row: { Id: OPP, CampaignId: CMP, CreatedDate: '2024-01-01T00:00:00.000+0000', LastModifiedDate: SF_TS, SystemModstamp: SF_TS },
      previous: { CampaignId: null },
      detectedBy: 'polling',
    });
    expect(types(detectTriggers(change, ctx))).toContain('salesforce.campaign_opportunity.added');
  });
});

describe('the same change via CDC and via a row', () => {
  const sameAs = (c: RawChange) => ({ commitTimestamp: c.commitTimestamp, transactionKey: c.transactionKey, sequenceNumber: c.sequenceNumber });

  it.each([
    ['Account', 'CREATE', ACC],
    ['Employee__c', 'CREATE', 'a011t00000EEKg3AAH'],
    ['Account', 'UPDATE', ACC],
  ])('%s %s: a row proven to be the change event gets its ids; unproven, its own (a duplicate, never nothing)', (object, changeType, id) => {
    const created = changeType === 'CREATE' ? SF_TS : '2024-01-01T00:00:00.000+0000';
    const streamed = cdcOne({ entityName: object, recordIds: [id], changeType, changedFields: ['Name'], body: { Name: 'N', LastModifiedDate: ISO } });
    const viaCdc = detectTriggers(streamed, ctx);
    const row = normalizePolledRow({
      object,
      row: { Id: id, Name: 'N', CreatedDate: created, LastModifiedDate: SF_TS, SystemModstamp: SF_TS },
      detectedBy: 'polling',
    });
    const proven = detectBatch([row], { ...ctx, sameChange: () => sameAs(streamed) });
    expect(proven.map((e) => [e.type, e.id])).toEqual(viaCdc.map((e) => [e.type, e.id]));
    expect(proven[0]!.data.detectedBy).toBe('polling');
    const unproven = detectBatch([row], { ...ctx, sameChange: () => undefined });
    expect(unproven.map((e) => e.type)).toEqual(viaCdc.map((e) => e.type));
    expect(unproven[0]!.id).not.toBe(viaCdc[0]!.id);
  });

  it('DELETE via getDeleted and via queryAll share one row id; the campaign events follow a proven CREATE', () => {
    const tombstone = detectTriggers(
      normalizePolledRow({ object: 'Account', row: { Id: ACC }, kind: 'deleted', deletedDate: SF_TS, detectedBy: 'reconcile' }),
      ctx,
    );
    const deletedRow = detectTriggers(
      normalizePolledRow({ object: 'Account', row: { Id: ACC, IsDeleted: true, SystemModstamp: SF_TS }, detectedBy: 'polling' }),
      ctx,
    );
    expect(deletedRow.map((e) => e.id)).toEqual(tombstone.map((e) => e.id));

    const cm = { CampaignId: CMP, LeadId: LEAD };
    const streamed = cdcOne({ entityName: 'CampaignMember', recordIds: [CM], changeType: 'CREATE', body: cm });
    const cmCdc = detectTriggers(streamed, ctx);
    const cmPoll = detectBatch(
      [
        normalizePolledRow({
          object: 'CampaignMember',
          row: { Id: CM, ...cm, CreatedDate: SF_TS, LastModifiedDate: SF_TS, SystemModstamp: SF_TS },
          detectedBy: 'polling',
        }),
      ],
      { ...ctx, sameChange: () => sameAs(streamed) },
    );
    expect(cmPoll.map((e) => e.id)).toEqual(cmCdc.map((e) => e.id));
    expect(cmPoll).toHaveLength(2);
  });

  it('two polled versions of one row in one second get two ids; the same version read again, one', () => {
    const row = (Email: string) =>
      normalizePolledRow({
        object: 'Contact',
        row: { Id: CON, Email, CreatedDate: '2024-01-01T00:00:00.000+0000', LastModifiedDate: SF_TS, SystemModstamp: SF_TS },
        detectedBy: 'polling',
      });
    const [a] = detectTriggers(row('a@example.com'), ctx);
    const [b] = detectTriggers(row('b@example.com'), ctx);
    const [again] = detectTriggers(row('a@example.com'), ctx);
    expect(a!.id).not.toBe(b!.id);
    expect(again!.id).toBe(a!.id);
  });
});

describe('transactions', () => {
  const conversion = () => [
    ...cdc({
      entityName: 'Lead',
      recordIds: [LEAD],
      changeType: 'UPDATE',
      transactionKey: 'conv',
      sequenceNumber: 4,
      changedFields: ['IsConverted'],
      body: { IsConverted: true },
    }),
    ...cdc({ entityName: 'Opportunity', recordIds: [OPP], changeType: 'CREATE', transactionKey: 'conv', sequenceNumber: 3, body: { CampaignId: CMP } }),
    ...cdc({ entityName: 'Account', recordIds: [ACC], changeType: 'CREATE', transactionKey: 'conv', sequenceNumber: 1 }),
    ...cdc({ entityName: 'Contact', recordIds: [CON], changeType: 'CREATE', transactionKey: 'conv', sequenceNumber: 2 }),
  ];

  it('a lead conversion leaves in sequenceNumber order, campaign event after its record event', () => {
    const events = valid(detectBatch(conversion(), ctx));
    expect(events.map((e) => [e.data.sequenceNumber, e.type])).toEqual([
      [1, 'salesforce.record.created'],
      [2, 'salesforce.record.created'],
      [3, 'salesforce.record.created'],
      [3, 'salesforce.campaign_opportunity.added'],
      [4, 'salesforce.record.updated'],
    ]);
  });

  it('orderTransaction reorders within a transaction only, keeping other events in their slots', () => {
    const other = detectTriggers(
      cdcOne({ entityName: 'Account', recordIds: ['001000000000009AAA'], changeType: 'UPDATE', transactionKey: 'other', sequenceNumber: 9 }),
      ctx,
    );
    const conv = conversion().flatMap((c) => detectTriggers(c, ctx));
    const mixed = [conv[0]!, ...other, ...conv.slice(1)];
    const ordered = orderTransaction(mixed);
    expect(ordered[1]).toBe(other[0]);
    expect(ordered.filter((e) => e.data.transactionKey === 'conv').map((e) => e.data.sequenceNumber)).toEqual([1, 2, 3, 3, 4]);
  });

  it('two CDC changes of one record in one second get distinct ids, in one batch or in two', () => {
    const first = cdcOne({ entityName: 'Account', recordIds: [ACC], changeType: 'UPDATE', transactionKey: 'a', changedFields: ['Name'], body: { Name: '1' } });
    const second = cdcOne({ entityName: 'Account', recordIds: [ACC], changeType: 'UPDATE', transactionKey: 'b', changedFields: ['Name'], body: { Name: '2' } });
    const [e1, e2] = detectBatch([first, second], ctx);
    expect(e1!.id).not.toBe(e2!.id);
    // Separate deliveries (two CometD batches, or a replay that starts between them): the same two ids.
    expect(detectBatch([first], ctx)[0]!.id).toBe(e1!.id);
    expect(detectBatch([second], ctx)[0]!.id).toBe(e2!.id);
  });
});

describe('createDetector', () => {
  it('validates its binding once', () => {
    expect(() => createDetector({ orgId: 'bad', connectionId: 'c' })).toThrow();
    const d = createDetector(ctx);
    expect(d.detect(cdcOne({ entityName: 'Account', recordIds: [ACC], changeType: 'CREATE' }))[0]!.source).toBe(`/salesforce/${ORG}`);
  });
});

describe('an event too large for one Kafka message', () => {
  it('leaves out the largest text values of its record, naming them, and keeps its id', () => {
    const big = (n: number) => '€'.repeat(n);
    const change: RawChange = {
      object: 'Doc__c',
      recordId: 'a01000000000001AAA',
      changeType: 'UPDATE',
      changedFields: [],
      changedFieldsUnknown: true,
      record: { Id: 'a01000000000001AAA', A__c: big(131_072), B__c: big(131_072), C__c: big(1_000), Name: 'doc' },
      commitTimestamp: TS,
      transactionKey: 'tx-big',
      sequenceNumber: 1,
      detectedBy: 'reconcile',
    };
    const [event] = valid(detectTriggers(change, ctx));
    expect(Buffer.byteLength(JSON.stringify(event!.data))).toBeLessThan(700 * 1024);
    expect(event!.data.omittedFields).toEqual(['A__c']);
    expect(event!.data.record).toMatchObject({ Name: 'doc', C__c: big(1_000), B__c: big(131_072) });
    expect(event!.data.record['A__c']).toBeUndefined();
    // Same change, same id, whatever was left out.
    const small = detectTriggers({ ...change, record: { Id: change.recordId } }, ctx)[0]!;
    expect(small.id).toBe(event!.id);
    expect(small.data.omittedFields).toBeUndefined();
  });
});
