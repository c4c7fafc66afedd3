import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeChangeEvent } from './change-event.js';
import { quoteCommitNumbers } from './commit-number.js';
import { cdcMessage, fixture, fixtureText } from '../../testkit/fixtures/normalize/load.js';
import type { ChangesResult, NormalizeResult, RawChange } from './raw-change.js';

const ctx = { orgId: '00D000000000001AAA', connectionId: 'conn-1' };

function changes(result: NormalizeResult): RawChange[] {
  expect(result.kind).toBe('changes');
  return (result as ChangesResult).changes;
}

describe('normalizeChangeEvent: reference samples', () => {
  it('the documented Account CREATE (placeholders substituted), field by field', () => {
    const text = fixtureText('account-create-doc.json')
      .replace('<record_ID>', '001000000000001AAA')
      .replaceAll('<User_ID>', '005000000000001AAA')
      .replace('<Owner_ID>', '005000000000002AAA');
    const [c, ...rest] = changes(normalizeChangeEvent(JSON.parse(text), ctx));
    expect(rest).toEqual([]);
    expect(c).toEqual({
      object: 'Account',
      recordId: '001000000000001AAA',
      changeType: 'CREATE',
      changedFields: [], // the 2017 sample has no changedFields key at all
      record: {
        Id: '001000000000001AAA',
        Name: 'Acme',
        Description: 'Everyone is talking about the cloud. But what does it mean?',
        OwnerId: '005000000000002AAA',
        CreatedDate: '2017-07-25T19:16:44.000Z',
        CreatedById: '005000000000001AAA',
        LastModifiedDate: '2017-07-25T19:16:44.000Z',
        LastModifiedById: '005000000000001AAA',
      },
      commitTimestamp: 1501010206653,
      commitNumber: '92847272780',
      transactionKey: '001b7375-0086-250e-e6ca-b99bc3a8b69f',
      sequenceNumber: 1,
      replayId: '6421',
      changeOrigin: 'com.salesforce.core',
      commitUser: '005000000000001AAA',
      detectedBy: 'cdc',
    });
  });

  it('the documented sample verbatim is invalid: its placeholders are not record ids', () => {
    const r = normalizeChangeEvent(fixture('account-create-doc.json'), ctx);
    expect(r).toMatchObject({ kind: 'invalid', replayId: '6421' });
  });

  it('the captured Employee__c CREATE', () => {
    const [c] = changes(normalizeChangeEvent(fixture('employee-create-captured.json'), ctx));
    expect(c).toEqual({
      object: 'Employee__c',
      recordId: 'a011t00000EEKg3AAH',
      changeType: 'CREATE',
      changedFields: [],
      record: {
        Id: 'a011t00000EEKg3AAH',
        LastModifiedDate: '2019-03-07T21:58:32.000Z',
        OwnerId: '0051t000001pGyuAAE',
        CreatedById: '0051t000001pGyuAAE',
        CreatedDate: '2019-03-07T21:58:32.000Z',
        First_Name__c: 'Marc',
        LastModifiedById: '0051t000001pGyuAAE',
        Tenure__c: 20,
        Name: 'EN-0090',
        Last_Name__c: 'Benioff',
      },
      commitTimestamp: 1551995912000,
      commitNumber: '184824347392',
      transactionKey: '001eb1e9-d14a-6cc0-617e-22108b39f4a5',
      sequenceNumber: 1,
      replayId: '34754',
      changeOrigin: 'com/salesforce/api/soap/45.0;client=SfdcInternalAPI/',
      commitUser: '0051t000001pGyuAAE',
      detectedBy: 'cdc',
    });
  });

  it('the captured UPDATE carries only the changed fields', () => {
    const [c] = changes(normalizeChangeEvent(fixture('employee-update-emp.data.json', '/data/Employee__ChangeEvent'), ctx));
    expect(c).toEqual({
      object: 'Employee__c',
      recordId: 'a097F00000XpKo9QAF',
      changeType: 'UPDATE',
      changedFields: ['LastModifiedDate', 'Tenure__c'],
      record: { Id: 'a097F00000XpKo9QAF', LastModifiedDate: '2020-08-06T06:24:43.000Z', Tenure__c: 3 },
      commitTimestamp: 1596695083000,
      commitNumber: '10915706370983',
      transactionKey: '00039569-53f3-0a03-743e-46538797bf9f',
      sequenceNumber: 1,
      replayId: '1480822',
      changeOrigin: 'com/salesforce/api/soap/49.0;client=SfdcInternalAPI/',
      commitUser: '0057F000001eSTfQAM',
      detectedBy: 'cdc',
    });
  });

  it('the captured DELETE has no body fields', () => {
    const [c] = changes(normalizeChangeEvent(fixture('employee-delete-emp.data.json'), ctx));
    expect(c).toMatchObject({
      changeType: 'DELETE',
      recordId: 'a097F00000XpKo9QAF',
      changedFields: [],
      record: { Id: 'a097F00000XpKo9QAF' },
      commitTimestamp: 1596695156000,
      commitNumber: '10915706812874',
      replayId: '1480823',
    });
    expect(Object.keys(c!.record)).toEqual(['Id']);
  });

  it('the captured Case UPDATE', () => {
    const [c] = changes(normalizeChangeEvent(fixture('case-update.data.json', '/data/CaseChangeEvent'), ctx));
    expect(c).toMatchObject({
      object: 'Case',
      recordId: '50025000009vJE9AAM',
      changeType: 'UPDATE',
      changedFields: ['AccountId', 'LastModifiedDate'],
      record: { Id: '50025000009vJE9AAM', AccountId: '0012500001DNi0FAAT', LastModifiedDate: '2019-09-25T10:32:28.000Z' },
      replayId: '103773372',
    });
  });
});

describe('normalizeChangeEvent: merged, compound, commitNumber', () => {
  it('a merged event becomes one change per record id, each with the whole body', () => {
    const cs = changes(normalizeChangeEvent(fixture('account-update-merged.json'), ctx));
    expect(cs.map((c) => c.recordId)).toEqual(['0015f00002JUZPDAA5', '0015f00002JUZPXAA5', '0015f00002JUZPcAAP']);
    for (const c of cs) {
      expect(c.record).toEqual({ Id: c.recordId, Industry: 'Apparel', LastModifiedDate: '2024-05-29T16:26:40.000Z' });
      expect(c.changedFields).toEqual(['Industry', 'LastModifiedDate']);
      expect(c.replayId).toBe('5001');
    }
    // Independent copies: enriching one record downstream must not leak into its siblings.
    expect(cs[0]!.record).not.toBe(cs[1]!.record);
    expect(cs[0]!.changedFields).not.toBe(cs[1]!.changedFields);
  });

  it('repeated and 15-character record ids are normalized to one 18-character id each', () => {
    const msg = cdcMessage({ entityName: 'Account', recordIds: ['0015f00002JUZPD', '0015f00002JUZPDAA5'], changeType: 'UPDATE' });
    expect(changes(normalizeChangeEvent(msg, ctx)).map((c) => c.recordId)).toEqual(['0015f00002JUZPDAA5']);
  });

  it('flattens compound fields to REST names and keeps change-event names in changedFields', () => {
    const [created] = changes(normalizeChangeEvent(fixture('account-create-compound.json'), ctx));
    expect(created!.record).toEqual({
      Id: '001RM000003Tz3BYAS',
      Name: 'Salesforce',
      BillingState: 'CA',
      BillingStreet: '415 Mission Street',
      BillingPostalCode: '94105',
      BillingCountry: 'United States',
      BillingCity: 'San Francisco',
      CreatedDate: '2021-02-09T23:18:00.000Z',
      LastModifiedDate: '2021-02-09T23:18:00.000Z',
    });
    const [updated] = changes(normalizeChangeEvent(fixture('contact-update-compound.json'), ctx));
    expect(updated!.record).toEqual({ Id: '003RM000006bH3qYAE', LastName: 'Doe', MailingCity: 'Paris', LastModifiedDate: '2021-02-09T23:18:20.000Z' });
    expect(updated!.changedFields).toEqual(['Name.LastName', 'MailingAddress.City', 'LastModifiedDate']);
  });

  it('flattens Lead Address, custom geolocation, and keeps unknown compounds nested', () => {
    const msg = cdcMessage({
      entityName: 'Lead',
      recordIds: ['00Q000000000001AAA'],
      changeType: 'UPDATE',
      changedFields: ['Address.City', 'Name.FirstName', 'Spot__c.Latitude', 'Weird.Part'],
      body: { Address: { City: 'Lyon' }, Name: { FirstName: 'Ada' }, Spot__c: { Latitude: 45.7, Longitude: 4.8 }, Weird: { Part: 1 } },
    });
    const [c] = changes(normalizeChangeEvent(msg, ctx));
    expect(c!.record).toEqual({
      Id: '00Q000000000001AAA',
      City: 'Lyon',
      FirstName: 'Ada',
      Spot__Latitude__s: 45.7,
      Spot__Longitude__s: 4.8,
      Weird: { Part: 1 },
    });
  });

  it('a nulled compound component arrives as null and stays null', () => {
    const msg = cdcMessage({
      entityName: 'Account',
      recordIds: ['001000000000001AAA'],
      changeType: 'UPDATE',
      changedFields: ['BillingAddress.City'],
      body: { BillingAddress: { City: null } },
    });
    expect(changes(normalizeChangeEvent(msg, ctx))[0]!.record).toEqual({ Id: '001000000000001AAA', BillingCity: null });
  });

  it('a missing or null changedFields is empty', () => {
    const missing = cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'UPDATE' });
    expect(changes(normalizeChangeEvent(missing, ctx))[0]!.changedFields).toEqual([]);
    const nulled = cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'UPDATE', changedFields: null as never });
    expect(changes(normalizeChangeEvent(nulled, ctx))[0]!.changedFields).toEqual([]);
  });

  it('commitNumber is a string: exact when the transport kept the digits, best-effort after JSON.parse', () => {
    const text = fixtureText('account-update-merged.json');
    const viaFaye = changes(normalizeChangeEvent(JSON.parse(text), ctx));
    expect(viaFaye[0]!.commitNumber).toBe('1652977933433528300');
    const exact = changes(normalizeChangeEvent(JSON.parse(quoteCommitNumbers(text)), ctx));
    expect(exact[0]!.commitNumber).toBe('1652977933433528300');

    // 2^53 + 1 cannot survive JSON.parse; quoting the raw text first keeps it.
    const big = cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'UPDATE' });
    const bigText = JSON.stringify(big).replace('"commitNumber":1234567', '"commitNumber":9007199254740993');
    expect(changes(normalizeChangeEvent(JSON.parse(bigText), ctx))[0]!.commitNumber).toBe('9007199254740992');
    expect(changes(normalizeChangeEvent(JSON.parse(quoteCommitNumbers(bigText)), ctx))[0]!.commitNumber).toBe('9007199254740993');
  });

  it('quoteCommitNumbers leaves look-alikes inside string values alone', () => {
    const text = JSON.stringify({ Description: 'x "commitNumber": 12, y', ChangeEventHeader: { commitNumber: 12 } });
    expect(JSON.parse(quoteCommitNumbers(text))).toEqual({ Description: 'x "commitNumber": 12, y', ChangeEventHeader: { commitNumber: '12' } });
  });

  it('UNDELETE is its own change type', () => {
    const msg = cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'UNDELETE', body: { Name: 'Back' } });
    expect(changes(normalizeChangeEvent(msg, ctx))[0]).toMatchObject({ changeType: 'UNDELETE', record: { Name: 'Back' } });
  });
});

describe('normalizeChangeEvent: gap, overflow, invalid', () => {
  it('GAP_OVERFLOW is an overflow marker for the entity', () => {
    expect(normalizeChangeEvent(fixture('account-gap-overflow.json'), ctx)).toEqual({
      kind: 'overflow',
      object: 'Account',
      changeType: 'GAP_OVERFLOW',
      commitTimestamp: 1717000001000,
      transactionKey: '000a5148-405c-21fe-86ce-03205d7404ad',
      replayId: '5002',
    });
  });

  it('GAP_* is a gap marker naming the records as sent (wildcards included)', () => {
    expect(normalizeChangeEvent(fixture('account-gap-update.json'), ctx)).toEqual({
      kind: 'gap',
      object: 'Account',
      recordIds: ['0015f00002JUZPDAA5', '001*'],
      changeType: 'GAP_UPDATE',
      commitTimestamp: 1717000002000,
      transactionKey: '000a5148-405c-21fe-86ce-03205d7404ae',
      sequenceNumber: 1,
      replayId: '5003',
    });
    for (const changeType of ['GAP_CREATE', 'GAP_DELETE', 'GAP_UNDELETE']) {
      const msg = cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType });
      expect(normalizeChangeEvent(msg, ctx)).toMatchObject({ kind: 'gap', changeType });
    }
  });

  it.each([
    ['not an object', 'hello'],
    ['null', null],
    ['no payload', { channel: '/data/ChangeEvents', data: { event: { replayId: 3 } } }],
    ['unknown change type', cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'SNAPSHOT' })],
    ['no record ids', cdcMessage({ entityName: 'Account', recordIds: [], changeType: 'UPDATE' })],
    ['a wildcard outside a gap event', cdcMessage({ entityName: 'Account', recordIds: ['001*'], changeType: 'UPDATE' })],
    ['a hostile entity name', cdcMessage({ entityName: '../../etc', recordIds: ['001000000000001AAA'], changeType: 'UPDATE' })],
    [
      'a prototype-polluting field',
      JSON.parse(
        '{"channel":"/data/X","data":{"payload":{"ChangeEventHeader":{"entityName":"Account","recordIds":["001000000000001AAA"],"changeType":"UPDATE","commitTimestamp":1},"__proto__":{"polluted":true}},"event":{"replayId":9}}}',
      ),
    ],
    ['deeply nested values', cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'UPDATE', body: { A: { B: { C: 1 } } } })],
    ['a negative commit timestamp', cdcMessage({ entityName: 'Account', recordIds: ['001000000000001AAA'], changeType: 'UPDATE', commitTimestamp: -1 })],
  ])('%s is invalid, not an exception', (_name, msg) => {
    const r = normalizeChangeEvent(msg, ctx);
    expect(r.kind).toBe('invalid');
    expect((r as { reason: string }).reason).toEqual(expect.any(String));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('reports the replayId of an invalid message so the caller can move past it', () => {
    const msg = cdcMessage({ entityName: 'Account', recordIds: [], changeType: 'UPDATE', replayId: 77 });
    expect(normalizeChangeEvent(msg, ctx)).toMatchObject({ kind: 'invalid', replayId: '77' });
  });

  it('never throws, whatever JSON arrives (property)', () => {
    const header = fc.record(
      {
        entityName: fc.oneof(fc.constantFrom('Account', 'Opportunity'), fc.string()),
        recordIds: fc.oneof(fc.array(fc.constantFrom('001000000000001AAA', '001*', 'x')), fc.jsonValue()),
        changeType: fc.oneof(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_UPDATE', 'GAP_OVERFLOW'), fc.jsonValue()),
        commitTimestamp: fc.oneof(fc.integer({ min: 0 }), fc.double(), fc.jsonValue()),
        commitNumber: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n }).map(Number), fc.jsonValue()),
        changedFields: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
        sequenceNumber: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const message = fc.record({
      channel: fc.oneof(fc.constant('/data/ChangeEvents'), fc.jsonValue()),
      data: fc.oneof(
        fc.record({
          payload: fc.oneof(
            fc.dictionary(fc.string(), fc.jsonValue()).chain((body) => header.map((h) => ({ ...body, ChangeEventHeader: h }))),
            fc.jsonValue(),
          ),
          event: fc.oneof(fc.record({ replayId: fc.oneof(fc.integer(), fc.jsonValue()) }), fc.jsonValue()),
        }),
        fc.jsonValue(),
      ),
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), message, fc.anything()), (input) => {
        const r = normalizeChangeEvent(input, ctx);
        expect(['changes', 'gap', 'overflow', 'invalid']).toContain(r.kind);
      }),
      { numRuns: 2000 },
    );
  });
});
