import { describe, expect, it } from 'vitest';
import { eventId } from './id.js';
import { sameSalesforceId, toId18 } from './salesforce-id.js';

const base = { orgId: '00D000000000001AAA', recordId: '001000000000001AAA', type: 'salesforce.record.updated', commitTimestamp: 1_717_000_000_000 } as const;

describe('eventId', () => {
  it('is a pure function of org, record, type and commit time', () => {
    expect(eventId(base)).toBe(eventId({ ...base }));
    expect(eventId(base)).toBe(eventId({ ...base, occurrence: 0 }));
  });

  it('has the RFC 4122 layout: version 5, variant 10', () => {
    expect(eventId(base)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differs when any input differs', () => {
    const ids = new Set([
      eventId(base),
      eventId({ ...base, orgId: '00D000000000002AAA' }),
      eventId({ ...base, recordId: '001000000000002AAA' }),
      eventId({ ...base, type: 'salesforce.record.created' }),
      eventId({ ...base, commitTimestamp: base.commitTimestamp + 1 }),
      eventId({ ...base, occurrence: 1 }),
      eventId({ ...base, occurrence: 2 }),
    ]);
    expect(ids.size).toBe(7);
  });

  it('is pinned: changing the recipe would re-id every event already delivered', () => {
    expect(eventId(base)).toMatchInlineSnapshot(`"b12b80ce-3ead-5362-a6c8-47241c0cfd4a"`);
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
