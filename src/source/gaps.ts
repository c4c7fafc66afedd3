/**
 * Completing what the stream does not carry in full. A CDC batch becomes RawChange[]
 * here: a change event as it is, a GAP event's records read back through REST under
 * the GAP event's own facts (so their events get the ids the change events would
 * have had), an overflow by reading its object back from its commit time. A window
 * the stream cannot replay (a lost replay position, a start at -1) is read back the
 * same way.
 */
import type { Logger } from '../core/log.js';
import { retry, retryPolicy } from '../core/retry.js';
import type { Normalizer, RawChange } from '../normalize/index.js';
import type { CdcMessage, CdcPosition } from './cdc/types.js';
import { OVERLAP_MARGIN_MS } from './overlap.js';

/** The reads a completion needs, bound to the org (polling/reconcile.ts through the org session). */
export interface OrgReads {
  /** Every change of `object` committed since `sinceMs`, as reconcile changes. */
  reconcile(object: string, sinceMs: number): Promise<RawChange[]>;
  /** The current rows of these records. */
  fetchRecords(object: string, ids: string[]): Promise<Record<string, unknown>[]>;
}

/**
 * Where reading back a channel's gap starts. A start at -1 carries a time of our own clock, already
 * taken with the overlap margin (positions.ts). A lost replay position carries the last processed
 * commit: rows of transactions that started before it and committed after it (or in its second)
 * carry an earlier SystemModstamp, so the read starts the overlap margin before it.
 */
export function gapStart(since: CdcPosition): number {
  return since.replayId === '-1' ? since.commitTimestamp : since.commitTimestamp - OVERLAP_MARGIN_MS;
}

/** A reconcile is retried a few times before the caller's own retry (the subscriber's gap path) takes over. */
const RECONCILE_RETRY = retryPolicy({ maxAttempts: 5, initialDelayMs: 1_000 });

/** Reads back what changed on `object` since `sinceMs`, retrying what may pass. */
export function reconcileWindow(reads: OrgReads, object: string, sinceMs: number): Promise<RawChange[]> {
  return retry(RECONCILE_RETRY, () => reads.reconcile(object, sinceMs));
}

export async function changesOfCdcBatch(batch: readonly CdcMessage[], deps: { normalizer: Normalizer; reads: OrgReads; logger: Logger }): Promise<RawChange[]> {
  const { normalizer, reads } = deps;
  const changes: RawChange[] = [];
  for (const msg of batch) {
    const r = normalizer.changeEvent({ channel: msg.channel, data: msg.data });
    switch (r.kind) {
      case 'changes':
        changes.push(...r.changes);
        break;
      case 'gap': {
        // The event names records but carries no values: read them now and emit complete events.
        if (r.recordIds.some((id) => id.includes('*'))) {
          changes.push(...(await reads.reconcile(r.object, r.commitTimestamp - OVERLAP_MARGIN_MS)));
          break;
        }
        const type = r.changeType.replace('GAP_', '') as RawChange['changeType'];
        // The GAP event's own facts: its records' events get the ids the change event would have given.
        const facts = {
          commitTimestamp: r.commitTimestamp,
          ...(r.transactionKey !== undefined ? { transactionKey: r.transactionKey } : {}),
          ...(r.sequenceNumber !== undefined ? { sequenceNumber: r.sequenceNumber } : {}),
        };
        if (type === 'DELETE') {
          for (const id of r.recordIds) {
            changes.push({ object: r.object, recordId: id, changeType: 'DELETE', changedFields: [], record: { Id: id }, ...facts, detectedBy: 'reconcile' });
          }
          break;
        }
        const rows = await reads.fetchRecords(r.object, r.recordIds);
        for (const row of rows) {
          const { changedFieldsUnknown: _read, ...change } = normalizer.polledRow({ object: r.object, row, detectedBy: 'reconcile' });
          // The GAP event says which kind of change it was; what an update changed, nobody can tell.
          changes.push({ ...change, changeType: type, changedFields: [], ...(type === 'UPDATE' ? { changedFieldsUnknown: true as const } : {}), ...facts });
        }
        break;
      }
      case 'overflow':
        changes.push(...(await reads.reconcile(r.object, r.commitTimestamp - OVERLAP_MARGIN_MS)));
        break;
      case 'invalid':
        deps.logger.warn({ reason: r.reason, replayId: r.replayId }, 'skipping an unreadable change event');
        break;
    }
  }
  return changes;
}
