import { describe, expect, it } from 'vitest';
import { budgetDelayMs, failureDelayMs, nextDelayMs, pressure } from './budget.js';
import { CycleBatch } from './batch.js';
import { advance, comparePosition, freshCursor } from './cursor.js';
import { fieldsFromDescribe } from '../../salesforce/fields.js';
import { createRecordMemory } from './memory.js';
import { cursorQuery, floorToMinute, getDeletedPath } from '../../salesforce/soql.js';

const ORG = '00D000000000001AAA';
const LEAD = '00Q000000000001AAA';
const OPP = '006000000000001AAA';
const t = (s: string) => Date.parse(s);
const sf = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

describe('query building', () => {
  it('first page re-reads from the overlap bound, continuation is keyset on (SystemModstamp, Id)', () => {
    const base = { object: 'Lead', fields: ['Id', 'SystemModstamp'], since: t('2024-01-01T00:00:00Z'), limit: 2000 };
    expect(cursorQuery(base)).toBe(
      'SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= 2024-01-01T00:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000',
    );
    expect(cursorQuery({ ...base, afterId: LEAD, until: t('2024-01-02T00:00:00Z') })).toBe(
      `SELECT Id, SystemModstamp FROM Lead WHERE ((SystemModstamp = 2024-01-01T00:00:00.000Z AND Id > '${LEAD}') OR SystemModstamp > 2024-01-01T00:00:00.000Z) AND SystemModstamp <= 2024-01-02T00:00:00.000Z ORDER BY SystemModstamp ASC, Id ASC LIMIT 2000`,
    );
  });

  it('refuses names and ids that could inject SOQL', () => {
    expect(() => cursorQuery({ object: 'Lead WHERE', fields: ['Id'], since: 0, limit: 1 })).toThrow(/API name/);
    expect(() => cursorQuery({ object: 'Lead', fields: ['Id'], since: 0, limit: 1, afterId: "x' OR Id != '" })).toThrow(/not a Salesforce id/);
  });

  it('getDeleted dates are whole minutes in +00:00 form', () => {
    const p = getDeletedPath('59.0', 'Lead', floorToMinute(t('2024-05-05T10:11:42.123Z')), t('2024-05-05T10:20:00Z'));
    expect(decodeURIComponent(p)).toBe('/services/data/v59.0/sobjects/Lead/deleted/?start=2024-05-05T10:11:00+00:00&end=2024-05-05T10:20:00+00:00');
  });

  it('fields from describe: cursor fields first, compounds and blobs skipped', () => {
    const f = fieldsFromDescribe({
      name: 'Account',
      replicateable: true,
      fields: [
        { name: 'Name', type: 'string' },
        { name: 'Id', type: 'id' },
        { name: 'BillingAddress', type: 'address' },
        { name: 'BillingCity', type: 'string' },
        { name: 'SystemModstamp', type: 'datetime' },
        { name: 'Body', type: 'base64' },
        { name: 'IsDeleted', type: 'boolean' },
      ],
    });
    expect(f.fields).toEqual(['Id', 'IsDeleted', 'SystemModstamp', 'Name', 'BillingCity']);
    expect(f.unselected).toEqual(['BillingAddress', 'Body']);
  });
});

describe('cursor', () => {
  it('orders by stamp then id and never moves backwards', () => {
    const c = freshCursor(t('2024-01-01T00:00:30Z'));
    expect(c.deletedUntil).toBe(t('2024-01-01T00:00:00Z'));
    const a = advance(c, { stamp: c.systemModstamp, id: LEAD });
    expect(a.lastId).toBe(LEAD);
    expect(advance(a, { stamp: c.systemModstamp - 1, id: 'zzz' })).toBe(a);
    expect(comparePosition({ stamp: 1, id: 'b' }, { stamp: 1, id: 'a' })).toBe(1);
  });
});

describe('budget', () => {
  const base = { minIntervalMs: 30_000, maxIntervalMs: 3_600_000, budgetShare: 0.1, callsPerCycle: 1, consecutiveFailures: 0, consecutiveLimitErrors: 0 };

  it('a large org polls at the configured interval', () => {
    // 1 call per cycle, 10% of 100,000: 10,000 calls/day allow one cycle every 8.64 s.
    expect(budgetDelayMs({ ...base, usage: { used: 10, limit: 100_000 } })).toBe(8_640);
    expect(nextDelayMs({ ...base, usage: { used: 10, limit: 100_000 } })).toBe(30_000);
    expect(nextDelayMs({ ...base, usage: undefined })).toBe(30_000);
  });

  it('a small limit stretches the interval: 86.4e6 × calls / (share × limit)', () => {
    expect(nextDelayMs({ ...base, usage: { used: 0, limit: 5_000 } })).toBe(172_800);
    expect(nextDelayMs({ ...base, callsPerCycle: 3, usage: { used: 0, limit: 5_000 } })).toBe(518_400);
  });

  it('backs off further above 80% overall usage', () => {
    expect(pressure({ used: 80, limit: 100 })).toBe(1);
    expect(pressure({ used: 90, limit: 100 })).toBeCloseTo(0.5);
    expect(nextDelayMs({ ...base, usage: { used: 4_500, limit: 5_000 } })).toBe(345_600);
    expect(pressure({ used: 100, limit: 100 })).toBe(0.05);
  });

  it('REQUEST_LIMIT_EXCEEDED doubles from 1 min up to the max interval; other failures from the min interval to 5 min', () => {
    expect(failureDelayMs({ ...base, consecutiveLimitErrors: 1 })).toBe(60_000);
    expect(failureDelayMs({ ...base, consecutiveLimitErrors: 3 })).toBe(240_000);
    expect(nextDelayMs({ ...base, usage: undefined, consecutiveLimitErrors: 20 })).toBe(3_600_000);
    expect(failureDelayMs({ ...base, consecutiveFailures: 1 })).toBe(30_000);
    expect(failureDelayMs({ ...base, consecutiveFailures: 2 })).toBe(60_000);
    expect(failureDelayMs({ ...base, consecutiveFailures: 10 })).toBe(300_000);
  });
});

describe('cycle batch (snapshot diff)', () => {
  const row = (over: Record<string, unknown>) => ({
    attributes: { type: 'Lead' },
    Id: LEAD,
    IsDeleted: false,
    CreatedDate: sf(t('2024-01-01T00:00:00Z')),
    LastModifiedDate: sf(t('2024-01-01T00:00:00Z')),
    SystemModstamp: sf(t('2024-01-01T00:00:00Z')),
    LastName: 'Smith',
    Company: 'Acme',
    ...over,
  });

  it('create, update with changed fields, re-read deduped, delete, undelete', () => {
    const memory = createRecordMemory();
    const cycle = (rows: Record<string, unknown>[]) => {
      const b = new CycleBatch(memory, ORG, 'polling');
      for (const r of rows) b.addRow('Lead', r);
      b.apply();
      return b.changes;
    };
    expect(cycle([row({})]).map((c) => c.changeType)).toEqual(['CREATE']);
    expect(cycle([row({})])).toEqual([]);
    const s2 = sf(t('2024-01-01T00:01:00Z'));
    const upd = cycle([row({ Company: 'Beta', LastModifiedDate: s2, SystemModstamp: s2 })]);
    expect(upd.map((c) => [c.changeType, [...c.changedFields].sort()])).toEqual([['UPDATE', ['Company', 'LastModifiedDate']]]);
    const s3 = sf(t('2024-01-01T00:02:00Z'));
    expect(cycle([row({ Company: 'Beta', LastModifiedDate: s3, SystemModstamp: s3, IsDeleted: true })]).map((c) => c.changeType)).toEqual(['DELETE']);
    const s4 = sf(t('2024-01-01T00:03:00Z'));
    expect(cycle([row({ Company: 'Beta', LastModifiedDate: s4, SystemModstamp: s4 })]).map((c) => c.changeType)).toEqual(['UNDELETE']);
  });

  it('a system-only SystemModstamp bump of a known record is not an update', () => {
    const memory = createRecordMemory();
    const b1 = new CycleBatch(memory, ORG, 'polling');
    b1.addRow('Lead', row({}));
    b1.apply();
    const b2 = new CycleBatch(memory, ORG, 'polling');
    b2.addRow('Lead', row({ SystemModstamp: sf(t('2024-01-01T00:05:00Z')) }));
    expect(b2.changes).toEqual([]);
  });

  it('nothing is remembered until apply (a failed handle retries the same rows)', () => {
    const memory = createRecordMemory();
    new CycleBatch(memory, ORG, 'polling').addRow('Lead', row({}));
    const b = new CycleBatch(memory, ORG, 'polling');
    b.addRow('Lead', row({}));
    expect(b.changes).toHaveLength(1);
  });

  it('getDeleted is skipped for a deletion queryAll already showed, and emitted for a hard delete', () => {
    const memory = createRecordMemory();
    const b = new CycleBatch(memory, ORG, 'polling');
    const s = sf(t('2024-01-01T00:02:00Z'));
    b.addRow('Lead', row({ IsDeleted: true, SystemModstamp: s, LastModifiedDate: s }));
    expect(b.addDeleted('Lead', { id: LEAD, deletedDate: s })).toBeUndefined();
    const hard = b.addDeleted('CampaignMember', { id: '00v000000000001AAA', deletedDate: s });
    expect(hard).toMatchObject({ changeType: 'DELETE', commitTimestamp: t('2024-01-01T00:02:00Z'), record: { Id: '00v000000000001AAA' } });
  });

  it('a record first seen deleted, created in the second its window starts, also gets its creation (stamps are whole seconds)', () => {
    const b = new CycleBatch(createRecordMemory(), ORG, 'polling');
    const created = t('2024-01-01T00:00:00Z');
    const s = sf(t('2024-01-01T00:00:01Z'));
    // The window starts in the creation's second: the row may have been created after it began.
    b.addRow('Lead', row({ IsDeleted: true, SystemModstamp: s, LastModifiedDate: s }), true, created + 400);
    expect(b.changes.map((c) => [c.changeType, c.commitTimestamp])).toEqual([
      ['CREATE', created],
      ['DELETE', t('2024-01-01T00:00:01Z')],
    ]);
    // Created a second before the window: reported before, by whoever read that second.
    const before = new CycleBatch(createRecordMemory(), ORG, 'polling');
    before.addRow('Lead', row({ IsDeleted: true, SystemModstamp: s, LastModifiedDate: s }), true, created + 1_000);
    expect(before.changes.map((c) => c.changeType)).toEqual(['DELETE']);
  });

  it('keeps the last known CampaignId of an Opportunity for detect', () => {
    const memory = createRecordMemory();
    const opp = (stamp: string, campaignId: string | null) => ({
      Id: OPP,
      IsDeleted: false,
      CreatedDate: sf(t('2024-01-01T00:00:00Z')),
      LastModifiedDate: stamp,
      SystemModstamp: stamp,
      Name: 'Deal',
      CampaignId: campaignId,
    });
    const b1 = new CycleBatch(memory, ORG, 'polling');
    b1.addRow('Opportunity', opp(sf(t('2024-01-01T00:00:00Z')), null), false);
    b1.apply();
    const b2 = new CycleBatch(memory, ORG, 'polling');
    const c = b2.addRow('Opportunity', opp(sf(t('2024-01-01T00:01:00Z')), '701000000000001AAA'));
    expect(c?.changedFields).toContain('CampaignId');
    expect(b2.previousCampaignId(OPP)).toBeNull();
    b2.apply();
    const b3 = new CycleBatch(memory, ORG, 'polling');
    b3.addRow('Opportunity', { ...opp(sf(t('2024-01-01T00:02:00Z')), '701000000000001AAA'), Name: 'Deal 2' });
    expect(b3.previousCampaignId(OPP)).toBe('701000000000001AAA');
  });
});
