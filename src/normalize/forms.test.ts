/**
 * What Salesforce's guides disagree on, read one way: a field set to null (in the body as null, left out
 * of the body and named in changedFields, or named in nulledFields), datetimes as `Z` or `+0000`, and
 * formula fields (in polled rows, never in change events).
 */
import { describe, expect, it } from 'vitest';
import { normalizeChangeEvent } from './change-event.js';
import { canonicalDateTime } from './datetime.js';
import { normalizePolledRow } from './polled-row.js';
import type { NormalizeResult, RawChange } from './raw-change.js';

const ctx = { orgId: '00D000000000001AAA', connectionId: 'c1' };
const ID = '001000000000001AAA';

function update(header: Record<string, unknown>, body: Record<string, unknown>): unknown {
  return {
    channel: '/data/AccountChangeEvent',
    data: {
      schema: 's',
      event: { replayId: 7 },
      payload: {
        ChangeEventHeader: {
          entityName: 'Account',
          recordIds: [ID],
          changeType: 'UPDATE',
          changeOrigin: '',
          transactionKey: 't1',
          sequenceNumber: 1,
          commitTimestamp: 1_700_000_000_000,
          commitNumber: 1,
          commitUser: '005000000000001AAA',
          ...header,
        },
        ...body,
      },
    },
  };
}

function only(r: NormalizeResult): RawChange {
  if (r.kind !== 'changes') throw new Error(`not changes: ${JSON.stringify(r)}`);
  return r.changes[0]!;
}

describe('a field set to null', () => {
  const when = '2023-11-14T22:13:20.000Z';
  it.each([
    [
      'in the body as null (older guides)',
      { changedFields: ['Industry', 'BillingAddress.City', 'LastModifiedDate'] },
      { Industry: null, BillingAddress: { City: null }, LastModifiedDate: when },
    ],
    [
      'left out of the body, named in changedFields (current Streaming API guide)',
      { changedFields: ['Industry', 'BillingAddress.City', 'LastModifiedDate'] },
      { LastModifiedDate: when },
    ],
    [
      'named in nulledFields (Pub/Sub, Apex)',
      { changedFields: ['LastModifiedDate'], nulledFields: ['Industry', 'BillingAddress.City'] },
      { LastModifiedDate: when },
    ],
  ])('%s reads as the field, null and changed', (_form, header, body) => {
    const c = only(normalizeChangeEvent(update(header, body), ctx));
    expect(c.record).toEqual({ Id: ID, Industry: null, BillingCity: null, LastModifiedDate: when });
    expect([...c.changedFields].sort()).toEqual(['BillingAddress.City', 'Industry', 'LastModifiedDate']);
  });
});

describe('datetimes', () => {
  it('REST `+0000`, CometD `Z` with or without milliseconds and `+00:00` are one value in `record`', () => {
    const forms = ['2024-01-01T00:00:00.000+0000', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00+00:00'];
    expect(new Set(forms.map(canonicalDateTime))).toEqual(new Set(['2024-01-01T00:00:00.000Z']));
    // Dates, text and numbers are not datetimes.
    for (const v of ['2024-01-01', 'not a date', 42, null]) expect(canonicalDateTime(v)).toBe(v);

    const streamed = only(normalizeChangeEvent(update({ changedFields: ['LastModifiedDate'] }, { LastModifiedDate: '2024-01-01T00:00:00Z' }), ctx));
    const polled = normalizePolledRow({
      object: 'Account',
      row: {
        Id: ID,
        CreatedDate: '2023-01-01T00:00:00.000+0000',
        LastModifiedDate: '2024-01-01T00:00:00.000+0000',
        SystemModstamp: '2024-01-01T00:00:00.000+0000',
      },
      previous: { Id: ID, CreatedDate: '2023-01-01T00:00:00.000+0000', LastModifiedDate: '2023-06-01T00:00:00.000+0000' },
      detectedBy: 'polling',
    });
    expect(polled.record['LastModifiedDate']).toBe(streamed.record['LastModifiedDate']);
    expect(polled.record['SystemModstamp']).toBe('2024-01-01T00:00:00.000Z');
  });
});

describe('formula fields', () => {
  it('a polled record keeps their values but never lists them as changed, as change events never carry them', () => {
    const base = {
      Id: ID,
      CreatedDate: '2023-01-01T00:00:00.000+0000',
      LastModifiedDate: '2024-01-01T00:00:00.000+0000',
      SystemModstamp: '2024-01-01T00:00:00.000+0000',
    };
    const c = normalizePolledRow({
      object: 'Account',
      row: { ...base, Amount__c: 20, Doubled__c: 40 },
      previous: { ...base, LastModifiedDate: '2023-06-01T00:00:00.000+0000', Amount__c: 10, Doubled__c: 20 },
      derived: ['Doubled__c'],
      detectedBy: 'polling',
    });
    expect(c.changedFields).toEqual(['LastModifiedDate', 'Amount__c']);
    expect(c.record['Doubled__c']).toBe(40);
  });
});
