/**
 * Where following an object starts and where it is remembered. Start positions come
 * from the durable checkpoints (written by whichever instance followed the org
 * before); a first follow makes its own start durable before anything is read, so a
 * restart or a handover resumes from it rather than from a later "now". Checkpoints
 * are written only after Kafka acknowledged the events they cover (the callers'
 * commit paths run after the ingest stage resolved).
 *
 * An object moves between the stream and polling when an admin changes the org's CDC selection (or
 * streaming is refused for a while). Each move starts the new side from the last durable position of
 * the side being left, minus the overlap margin, and a poll checkpoint exists exactly while polling
 * owns the object: written when polling takes over, deleted once the stream's start is durable. So
 * whichever instance starts next, and however often the object moved, it knows which side was last
 * and where it stopped; a poll position from an earlier polling period can never come back.
 */
import { channelFor } from '../salesforce/channels.js';
import type { ServiceStore } from '../state/store.js';
import type { CdcPosition } from './cdc/types.js';
import { OVERLAP_MARGIN_MS } from './overlap.js';
import type { PollCursor } from './polling/index.js';

export type CheckpointStore = Pick<ServiceStore, 'cdcCheckpoint' | 'pollCheckpoint' | 'putCheckpoint' | 'deletePollCheckpoint'>;

/** A CDC checkpoint that records only since when a channel is followed (no event processed yet). */
export const FOLLOWED_SINCE = '-1';

export interface CdcStart {
  /** Channels resumed after their last processed event. */
  positions: Map<string, CdcPosition>;
  /** Channels started at -1 whose changes since `commitTimestamp` are read back once subscribed. */
  catchUp: Map<string, CdcPosition>;
}

type PollCheckpoint = NonNullable<ReturnType<CheckpointStore['pollCheckpoint']>>;
type CdcCheckpoint = NonNullable<ReturnType<CheckpointStore['cdcCheckpoint']>>;

/**
 * Whether polling, not the stream, followed the object last: its poll checkpoint exists. A poll
 * checkpoint that the stream's position passed by more than the overlap margin was left behind by an
 * earlier version, which never deleted it (a handover writes the poll checkpoint at the stream's position).
 */
function polledLast(poll: PollCheckpoint | undefined, cdc: CdcCheckpoint | undefined): poll is PollCheckpoint {
  if (!poll) return false;
  return !cdc || cdc.replayId === FOLLOWED_SINCE || cdc.commitTimestamp <= poll.systemModstamp + OVERLAP_MARGIN_MS;
}

/**
 * `objects`: the API names to stream (their channels are channelFor(object)). An object that was polled
 * last starts its channel at -1 and is read back from the overlap margin before its poll position (rows
 * and the deletions its getDeleted window had not reached); that start is made durable before the poll
 * checkpoint goes. `replayable` (lower-case names): objects polled only while streaming was refused, their
 * entity selected all the while, so the stream still holds their change events: they resume from the
 * stream's checkpoint instead, and the changes polled meanwhile come again under their change events' ids.
 */
export async function cdcStart(
  store: CheckpointStore,
  connectionId: string,
  objects: readonly string[],
  now: number,
  replayable: ReadonlySet<string> = new Set(),
): Promise<CdcStart> {
  const positions = new Map<string, CdcPosition>();
  const catchUp = new Map<string, CdcPosition>();
  for (const object of objects) {
    const ch = channelFor(object);
    const cp = store.cdcCheckpoint(connectionId, ch);
    const poll = store.pollCheckpoint(connectionId, object);
    const replay = replayable.has(object.toLowerCase()) && cp !== undefined && cp.replayId !== FOLLOWED_SINCE;
    if (polledLast(poll, cp) && !replay) {
      const since = Math.min(poll.systemModstamp - OVERLAP_MARGIN_MS, poll.deletedUntil);
      await store.putCheckpoint({
        kind: 'cdc',
        connectionId,
        channel: ch,
        replayId: FOLLOWED_SINCE,
        commitTimestamp: since,
        updatedAt: new Date(now).toISOString(),
      });
      await store.deletePollCheckpoint(connectionId, object);
      catchUp.set(ch, { replayId: '-1', commitTimestamp: since });
      continue;
    }
    if (poll) await store.deletePollCheckpoint(connectionId, object);
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

/**
 * Cursors for objects the poller has no durable position for are absent: it starts them at "now". An
 * object the stream followed last starts where the stream stopped, and that start is made durable at once
 * (it also marks polling as the side that follows the object now).
 */
export async function pollStart(store: CheckpointStore, connectionId: string, objects: readonly string[], now: number): Promise<Map<string, PollCursor>> {
  const cursors = new Map<string, PollCursor>();
  for (const o of objects) {
    const cp = store.pollCheckpoint(connectionId, o);
    // An object that was streamed since it was last polled resumes polling where the stream stopped: the
    // poller re-reads the overlap margin before it; getDeleted, which has no overlap of its own, starts that far back too.
    const streamed = store.cdcCheckpoint(connectionId, channelFor(o));
    if (streamed && !polledLast(cp, streamed)) {
      const cursor = { systemModstamp: streamed.commitTimestamp, lastId: '', deletedUntil: streamed.commitTimestamp - OVERLAP_MARGIN_MS };
      await store.putCheckpoint({ kind: 'poll', connectionId, object: o, ...cursor, updatedAt: new Date(now).toISOString() });
      cursors.set(o, cursor);
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
