/**
 * Completing what the stream does not carry in full. A CDC batch becomes RawChange[]
 * here: a change event as it is, a GAP event's records read back through REST under
 * the GAP event's own facts (so their events get the ids the change events would
 * have had). An overflow (or a GAP event naming a key prefix instead of records) is
 * handed to a read back of its object from its commit time that runs beside the
 * stream, page by page (overflow.ts): it can be hundreds of thousands of rows. A
 * window the stream cannot replay (a lost replay position, a start at -1) is read
 * back page by page too.
 */
import type { Logger } from '../core/log.js';
import { retry, retryPolicy } from '../core/retry.js';
import type { Normalizer, RawChange } from '../normalize/index.js';
import type { CdcMessage, CdcPosition } from './cdc/types.js';
import { OVERLAP_MARGIN_MS } from './overlap.js';
import type { ReconcileCursor, ReconcilePage, ReconcileWindow } from './polling/index.js';

/** The reads a completion needs, bound to the org (polling/reconcile.ts through the org session). */
export interface OrgReads {
  /** The changes of `object` in the window, page by page, from `from` when resuming. */
  pages(object: string, window: ReconcileWindow, from?: ReconcileCursor): AsyncIterable<ReconcilePage>;
  /** The current rows of these records. */
  fetchRecords(object: string, ids: string[]): Promise<Record<string, unknown>[]>;
}

export interface BatchDeps {
  normalizer: Normalizer;
  reads: OrgReads;
  /** Records durably that `object` must be read back from `sinceMs`; the read runs beside the stream. */
  overflow(object: string, sinceMs: number): Promise<void>;
  logger: Logger;
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

/**
 * Reads back what changed on `object` since `sinceMs`, handing each page to `ingest` before reading the
 * next, so that memory holds one page. A failure is retried from the page it stopped at. Resolves with
 * the number of changes handed over.
 */
export async function reconcileWindow(reads: OrgReads, object: string, sinceMs: number, ingest: (changes: RawChange[]) => Promise<void>): Promise<number> {
  const window = { sinceMs };
  let from: ReconcileCursor | undefined;
  let total = 0;
  await retry(RECONCILE_RETRY, async () => {
    for await (const page of reads.pages(object, window, from)) {
      await ingest(page.changes);
      total += page.changes.length;
      if (page.next === undefined) return;
      from = page.next;
    }
  });
  return total;
}

export async function changesOfCdcBatch(batch: readonly CdcMessage[], deps: BatchDeps): Promise<RawChange[]> {
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
          await deps.overflow(r.object, r.commitTimestamp - OVERLAP_MARGIN_MS);
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
        // Only recorded here: the read itself runs beside the stream, which moves on once this is durable.
        await deps.overflow(r.object, r.commitTimestamp - OVERLAP_MARGIN_MS);
        break;
      case 'invalid':
        deps.logger.warn({ reason: r.reason, replayId: r.replayId }, 'skipping an unreadable change event');
        break;
    }
  }
  return changes;
}
