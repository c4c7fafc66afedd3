/**
 * Where following an object starts and where it is remembered. Start positions come
 * from the durable checkpoints (written by whichever instance followed the org
 * before); a first follow makes its own start durable before anything is read, so a
 * restart or a handover resumes from it rather than from a later "now". Checkpoints
 * are written only after Kafka acknowledged the events they cover (the callers'
 * commit paths run after the ingest stage resolved).
 */
import { channelFor } from '../salesforce/channels.js';
import type { ServiceStore } from '../state/store.js';
import type { CdcPosition } from './cdc/types.js';
import { OVERLAP_MARGIN_MS } from './overlap.js';
import type { PollCursor } from './polling/index.js';

export type CheckpointStore = Pick<ServiceStore, 'cdcCheckpoint' | 'pollCheckpoint' | 'putCheckpoint'>;

/** A CDC checkpoint that records only since when a channel is followed (no event processed yet). */
export const FOLLOWED_SINCE = '-1';

export interface CdcStart {
  /** Channels resumed after their last processed event. */
  positions: Map<string, CdcPosition>;
  /** Channels started at -1 whose changes since `commitTimestamp` are read back once subscribed. */
  catchUp: Map<string, CdcPosition>;
}

export async function cdcStart(store: CheckpointStore, connectionId: string, channels: readonly string[], now: number): Promise<CdcStart> {
  const positions = new Map<string, CdcPosition>();
  const catchUp = new Map<string, CdcPosition>();
  for (const ch of channels) {
    const cp = store.cdcCheckpoint(connectionId, ch);
    if (cp && cp.replayId !== FOLLOWED_SINCE) {
      positions.set(ch, { replayId: cp.replayId, commitTimestamp: cp.commitTimestamp });
    } else if (cp) {
      // Followed before (by this or another instance) but no event was processed:
      // the stream restarts at -1 and what changed since then is read back.
      catchUp.set(ch, { replayId: '-1', commitTimestamp: cp.commitTimestamp });
    } else {
      // First follow: remember when, durably, before subscribing at -1 (new events
      // only). A restart or a handover before the first event then reconciles from
      // here instead of silently starting at -1 again. The overlap margin covers clock skew and
      // transactions that started before the subscribe and commit after it.
      const since = now - OVERLAP_MARGIN_MS;
      await store.putCheckpoint({
        kind: 'cdc',
        connectionId,
        channel: ch,
        replayId: FOLLOWED_SINCE,
        commitTimestamp: since,
        updatedAt: new Date(now).toISOString(),
      });
      // And read back once the subscribe took effect: a change committed after
      // following began but before Salesforce processed the subscribe is in no stream
      // at -1 (a record created right after connecting was lost that way).
      catchUp.set(ch, { replayId: '-1', commitTimestamp: since });
    }
  }
  return { positions, catchUp };
}

/** Cursors for objects the poller has no durable position for are absent: it starts them at "now". */
export async function pollStart(store: CheckpointStore, connectionId: string, objects: readonly string[], now: number): Promise<Map<string, PollCursor>> {
  const cursors = new Map<string, PollCursor>();
  for (const o of objects) {
    const cp = store.pollCheckpoint(connectionId, o);
    // An object that was streamed since it was last polled resumes polling where the stream stopped: the
    // poller re-reads the overlap margin before it; getDeleted, which has no overlap of its own, starts that far back too.
    const cdc = store.cdcCheckpoint(connectionId, channelFor(o));
    if (cdc && (!cp || cdc.commitTimestamp > cp.systemModstamp)) {
      cursors.set(o, { systemModstamp: cdc.commitTimestamp, lastId: '', deletedUntil: cdc.commitTimestamp - OVERLAP_MARGIN_MS });
      continue;
    }
    if (cp) {
      cursors.set(o, { systemModstamp: cp.systemModstamp, lastId: cp.lastId, deletedUntil: cp.deletedUntil });
      continue;
    }
    // First follow: the poller starts at "now" without announcing older rows. The same
    // start is made durable, so that a restart or a handover before the first change
    // resumes from it rather than from a later "now" (which would skip what changed between).
    await store.putCheckpoint({
      kind: 'poll',
      connectionId,
      object: o,
      systemModstamp: now,
      lastId: '',
      deletedUntil: now,
      updatedAt: new Date(now).toISOString(),
    });
  }
  return cursors;
}

/**
 * Where a reconcile starts for an object that moves from polling to streaming: the overlap margin
 * before its last polled row (a transaction running then may commit rows stamped earlier). Undefined
 * when it was never polled.
 */
export function pollHandoverSince(store: CheckpointStore, connectionId: string, object: string): number | undefined {
  const cursor = store.pollCheckpoint(connectionId, object);
  return cursor ? cursor.systemModstamp - OVERLAP_MARGIN_MS : undefined;
}

export async function commitCdc(store: CheckpointStore, connectionId: string, moved: Map<string, CdcPosition>, now: number): Promise<void> {
  const updatedAt = new Date(now).toISOString();
  for (const [channel, p] of moved) {
    await store.putCheckpoint({ kind: 'cdc', connectionId, channel, replayId: p.replayId, commitTimestamp: p.commitTimestamp, updatedAt });
  }
}

export async function commitPoll(store: CheckpointStore, connectionId: string, moved: Map<string, PollCursor>, now: number): Promise<void> {
  const updatedAt = new Date(now).toISOString();
  for (const [object, c] of moved) {
    await store.putCheckpoint({ kind: 'poll', connectionId, object, ...c, updatedAt });
  }
}
