/**
 * The same change read as a change event and as a row gets one id where the service can prove it, and
 * otherwise is delivered under both ids: never under none. Built from the emulator's own records and
 * change events, with a transaction that runs two seconds (SystemModstamp at its start, commit after).
 */
import { describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { detectBatch } from '../detect/batch.js';
import { begin, commit, createRecord, inTransaction, updateRecord } from '../emulator/dml.js';
import { Emulator } from '../emulator/emulator.js';
import { normalizeChangeEvent } from '../normalize/change-event.js';
import { normalizePolledRow } from '../normalize/polled-row.js';
import type { ChangesResult, RawChange } from '../normalize/raw-change.js';
import { Sightings } from './sightings.js';

function setup() {
  const em = new Emulator(testLogger());
  em.clock.set(Date.UTC(2025, 0, 2, 3, 4, 5, 100));
  const { org } = em.createOrg({ cdcEntities: ['Lead'] });
  const lead = org.object('Lead')!;
  const ctx = { orgId: org.id, connectionId: 'conn-1' };
  let seen = 0;
  /** The change events committed since the last call, as the CDC path normalizes them. */
  const streamed = (): RawChange[] =>
    org.bus.eventsAfter(seen).flatMap((e) => {
      seen = e.replayId;
      return (normalizeChangeEvent({ channel: e.channel, data: { schema: 's', payload: e.payload, event: { replayId: e.replayId } } }, ctx) as ChangesResult)
        .changes;
    });
  /** The record as a reconcile reads it now. */
  const row = (id: string): RawChange => normalizePolledRow({ object: 'Lead', row: { ...org.store.get(id)!.values }, detectedBy: 'reconcile' });
  /** A long transaction: started now, committed `ms` later. */
  const slowUpdate = (id: string, body: Record<string, unknown>, ms: number) => {
    const txn = begin(org, 'test');
    updateRecord(org, txn, lead, id, body);
    em.clock.advance(ms);
    commit(org, txn);
  };
  const create = (body: Record<string, unknown>) => inTransaction(org, 'test', (txn) => createRecord(org, txn, lead, body));
  return { em, org, ctx, streamed, row, slowUpdate, create };
}

describe('one id for one change seen both ways, where provable', () => {
  it('a reconciled row of a streamed change gets the change event id, though its SystemModstamp is earlier than the commit', () => {
    const { em, ctx, streamed, row, slowUpdate, create } = setup();
    const sightings = new Sightings('conn-1', Sightings.cache());
    sightings.streaming('Lead');
    const id = create({ LastName: 'Hopper', Company: 'Navy' });
    em.clock.advance(3_000);
    slowUpdate(id, { Company: 'US Navy' }, 2_000);
    const changes = streamed();
    const cdc = detectBatch(changes, ctx);
    expect(cdc.map((e) => e.type)).toEqual(['salesforce.record.created', 'salesforce.record.updated']);
    // Published (Kafka acked): now the reconcile path can prove the row is the UPDATE it streamed.
    sightings.published(changes);
    const reread = row(id);
    expect(reread.commitTimestamp).toBeLessThan(cdc[1]!.data.commitTimestamp); // SystemModstamp: the start
    const viaReconcile = detectBatch([reread], { ...ctx, sameChange: sightings.sameChange });
    expect(viaReconcile.map((e) => [e.type, e.id])).toEqual([['salesforce.record.updated', cdc[1]!.id]]);
    expect(viaReconcile[0]!.data.detectedBy).toBe('reconcile');
  });

  it('cannot prove it, so both are delivered under two ids: after a stream break, or with two changes in one second', () => {
    const { em, ctx, streamed, row, slowUpdate, create } = setup();
    const sightings = new Sightings('conn-1', Sightings.cache());
    sightings.streaming('Lead');
    const id = create({ LastName: 'Lovelace', Company: 'Engines' });
    em.clock.advance(3_000);
    slowUpdate(id, { Company: 'Analytical Engines' }, 0);
    const first = streamed();
    sightings.published(first);
    sightings.interrupted('Lead');
    const afterBreak = detectBatch([row(id)], { ...ctx, sameChange: sightings.sameChange });
    expect(afterBreak).toHaveLength(1);
    expect(afterBreak[0]!.id).not.toBe(detectBatch(first, ctx)[1]!.id);

    // A fresh stream delivers two updates of the same second: the row could be either.
    slowUpdate(id, { Company: 'A' }, 0);
    slowUpdate(id, { Company: 'B' }, 0);
    const two = streamed();
    sightings.published(two);
    const twoIds = detectBatch(two, ctx).map((e) => e.id);
    expect(new Set(twoIds).size).toBe(2);
    const ambiguous = detectBatch([row(id)], { ...ctx, sameChange: sightings.sameChange });
    expect(ambiguous).toHaveLength(1);
    expect(twoIds).not.toContain(ambiguous[0]!.id);

    // Polling (the object is not streamed) never borrows a change event's id.
    sightings.stopped('Lead');
    const polled = detectBatch([{ ...row(id), detectedBy: 'polling' }], { ...ctx, sameChange: sightings.sameChange });
    expect(twoIds).not.toContain(polled[0]!.id);
  });
});
