import { describe, expect, it } from 'vitest';
import { cdcEventId, rowEventId, rowVersion } from './id.js';
import { sameSalesforceId, toId18 } from './salesforce-id.js';

const base = { orgId: '00D000000000001AAA', recordId: '001000000000001AAA', type: 'salesforce.record.updated', commitTimestamp: 1_717_000_000_000 } as const;
const cdc = { ...base, transactionKey: '0003957a-1856-5435-a67c-7f7290cd9e7c', sequenceNumber: 1 } as const;
const row = { orgId: base.orgId, recordId: base.recordId, type: base.type, stamp: base.commitTimestamp } as const;

describe('cdcEventId', () => {
  it('is a pure function of org, record, type, commit second and the change event position', () => {
    expect(cdcEventId(cdc)).toBe(cdcEventId({ ...cdc }));
    // The replayId differs per channel; with a transaction position it does not matter.
    expect(cdcEventId({ ...cdc, replayId: '7' })).toBe(cdcEventId({ ...cdc, replayId: '8' }));
  });

  it('has the RFC 4122 layout: version 5, variant 10', () => {
    expect(cdcEventId(cdc)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(rowEventId(row)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('two changes of one record in one second (two transactions) get two ids', () => {
    const ids = new Set([
      cdcEventId(cdc),
      cdcEventId({ ...cdc, transactionKey: '0003957a-1856-5435-a67c-7f7290cd9e7d' }),
      cdcEventId({ ...cdc, sequenceNumber: 2 }),
      cdcEventId({ ...cdc, orgId: '00D000000000002AAA' }),
      cdcEventId({ ...cdc, recordId: '001000000000002AAA' }),
      cdcEventId({ ...cdc, type: 'salesforce.record.created' }),
      cdcEventId({ ...cdc, commitTimestamp: cdc.commitTimestamp + 1000 }),
    ]);
    expect(ids.size).toBe(7);
  });

  it('without a transaction position, falls back to the replayId', () => {
    const { transactionKey: _t, sequenceNumber: _s, ...bare } = cdc;
    expect(cdcEventId({ ...bare, replayId: '7' })).not.toBe(cdcEventId({ ...bare, replayId: '8' }));
    expect(cdcEventId({ ...bare, replayId: '7' })).toBe(cdcEventId({ ...bare, replayId: '7' }));
  });

  it('is pinned: changing the recipe would re-id every event already delivered', () => {
    expect(cdcEventId(cdc)).toMatchInlineSnapshot(`"4337dddc-0296-5fdd-878b-1b297dbd9494"`);
    expect(rowEventId({ ...row, version: 'abc' })).toMatchInlineSnapshot(`"cb429192-4ae0-5162-9c4b-e3be536079c5"`);
  });
});

describe('rowEventId', () => {
  it('counts whole seconds only, and tells two versions of one second apart', () => {
    expect(rowEventId(row)).toBe(rowEventId({ ...row, stamp: row.stamp + 999 }));
    expect(rowEventId(row)).not.toBe(rowEventId({ ...row, stamp: row.stamp + 1000 }));
    expect(rowEventId({ ...row, version: 'a' })).not.toBe(rowEventId({ ...row, version: 'b' }));
    expect(rowEventId(row)).not.toBe(cdcEventId(cdc));
  });

  it('rowVersion: the same values give the same version, whatever the key order or datetime form', () => {
    const a = { Id: 'x', Email: 'a@example.com', LastModifiedDate: '2024-01-02T03:04:05.000+0000', SystemModstamp: '2024-01-02T03:04:05.000+0000' };
    const b = { LastModifiedDate: '2024-01-02T03:04:05.000Z', Email: 'a@example.com', Id: 'x', SystemModstamp: '2024-01-02T03:04:06.000+0000' };
    expect(rowVersion(a)).toBe(rowVersion(b));
    expect(rowVersion(a)).not.toBe(rowVersion({ ...a, Email: 'b@example.com' }));
  });
});

describe('salesforce ids', () => {
  it('computes the 18-character form of a 15-character id', () => {
    expect(toId18('001D000000IqhSL')).toBe('001D000000IqhSLIAZ');
    expect(toId18('a097F00000XpKo9')).toBe('a097F00000XpKo9QAF');
    expect(toId18('a097F00000XpKo9QAF')).toBe('a097F00000XpKo9QAF');
    expect(toId18('nope')).toBeUndefined();
    expect(toId18('001D000000IqhS*')).toBeUndefined();
  });

  it('compares across forms', () => {
    expect(sameSalesforceId('001D000000IqhSL', '001D000000IqhSLIAZ')).toBe(true);
    expect(sameSalesforceId('001D000000IqhSLIAZ', '001d000000iqhsliaz')).toBe(true);
    expect(sameSalesforceId('001D000000IqhSL', null)).toBe(false);
    expect(sameSalesforceId(null, undefined)).toBe(true);
  });
});
