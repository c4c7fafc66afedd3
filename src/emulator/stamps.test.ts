/**
 * Salesforce's datetimes are whole seconds, and SystemModstamp is the transaction's start: a
 * transaction that runs long commits rows stamped before its commitTimestamp.
 */
import { describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { parseDateTime } from './clock.js';
import { begin, commit, createRecord, deleteRecord, inTransaction, updateRecord } from './dml.js';
import { Emulator } from './emulator.js';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5) + 678; // deliberately not on a second

function setup() {
  const em = new Emulator(testLogger());
  em.clock.set(T0);
  const { org } = em.createOrg({ cdcEntities: ['Lead'] });
  return { em, org, lead: org.object('Lead')! };
}

const stamp = (v: unknown): number => parseDateTime(String(v))!;
const header = (ev: { payload: unknown }) => (ev.payload as { ChangeEventHeader: { commitTimestamp: number; changeType: string } }).ChangeEventHeader;

describe('emulator timestamps', () => {
  it('CreatedDate, LastModifiedDate, SystemModstamp, commitTimestamp and deletedDate are whole seconds', () => {
    const { em, org, lead } = setup();
    const id = inTransaction(org, 'test', (txn) => createRecord(org, txn, lead, { LastName: 'Hopper', Company: 'Navy' }));
    const created = org.store.get(id)!.values;
    for (const f of ['CreatedDate', 'LastModifiedDate', 'SystemModstamp']) {
      expect(stamp(created[f]), f).toBe(T0 - 678);
      expect(String(created[f]), f).toMatch(/\.000\+0000$/);
    }
    em.clock.advance(1_111);
    inTransaction(org, 'test', (txn) => updateRecord(org, txn, lead, id, { Title: 'RADM' }));
    expect(stamp(org.store.get(id)!.values.SystemModstamp)).toBe(T0 - 678 + 1000);
    em.clock.advance(1_111);
    inTransaction(org, 'test', (txn) => deleteRecord(org, txn, lead, id));
    const [deleted] = org.store.deletedBetween('Lead', 0, Number.MAX_SAFE_INTEGER);
    expect(deleted!.at % 1000).toBe(0);
    expect(deleted!.at).toBe(stamp(org.store.get(id)!.values.SystemModstamp));
    const commits = org.bus.eventsAfter(0).map((e) => header(e).commitTimestamp);
    expect(commits).toHaveLength(3);
    for (const c of commits) expect(c % 1000).toBe(0);
  });

  it('SystemModstamp is the start of the transaction; commitTimestamp its end', () => {
    const { em, org, lead } = setup();
    const txn = begin(org, 'test');
    const id = createRecord(org, txn, lead, { LastName: 'Slow', Company: 'Batch' });
    em.clock.advance(5_400); // a long-running transaction
    commit(org, txn);
    const row = org.store.get(id)!.values;
    const [ev] = org.bus.eventsAfter(0);
    expect(stamp(row.SystemModstamp)).toBe(T0 - 678);
    expect(header(ev!).commitTimestamp).toBe(T0 - 678 + 6_000);
    expect((ev!.payload as { LastModifiedDate: string }).LastModifiedDate).toBe(new Date(T0 - 678).toISOString());
  });
});
