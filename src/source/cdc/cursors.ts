import { isAtOrBefore, wireReplayId } from './replay-id.js';
import { OVERLAP_MARGIN_MS } from '../overlap.js';
import type { CdcPosition } from './types.js';

interface Cursor {
  /** The durable position the subscriber started from (a checkpoint). */
  checkpoint: CdcPosition | undefined;
  /** Latest position whose message `handle` acknowledged. */
  processed: CdcPosition | undefined;
  /** Messages at or before this are duplicates: they are buffered, in flight or processed. */
  floor: string | undefined;
  /** Subscribed at -1 (no position, or after a gap) and nothing processed since. */
  fromTip: boolean;
  /** While `fromTip`: where a reconcile must start if a later re-subscribe at -1 skips a window. */
  tipSince: CdcPosition | undefined;
  /** The channel was subscribed at least once by this subscriber. */
  everLive: boolean;
  /** `processed` moved since the last successful commit. */
  dirty: boolean;
}

/**
 * Where each channel of one client stands. The replay map sent on every subscribe
 * is built from here, so it always names every channel of the client and, after any
 * re-handshake, the latest *processed* replayId: resuming from what was merely
 * received would skip what is still buffered if the process died.
 */
export class Cursors {
  readonly #byChannel = new Map<string, Cursor>();

  constructor(channels: Iterable<string>, positions: ReadonlyMap<string, CdcPosition>) {
    for (const ch of channels) this.add(ch, positions.get(ch));
  }

  add(channel: string, checkpoint: CdcPosition | undefined): void {
    if (this.#byChannel.has(channel)) return;
    this.#byChannel.set(channel, {
      checkpoint,
      processed: undefined,
      floor: checkpoint?.replayId,
      fromTip: checkpoint === undefined,
      tipSince: undefined,
      everLive: false,
      dirty: false,
    });
  }

  remove(channel: string): void {
    this.#byChannel.delete(channel);
  }

  has(channel: string): boolean {
    return this.#byChannel.has(channel);
  }

  channels(): string[] {
    return [...this.#byChannel.keys()];
  }

  /** `ext.replay` for /meta/subscribe: every channel, at processed, else checkpoint, else -1 (new only). */
  replayMap(): Record<string, number | string> {
    const map: Record<string, number | string> = {};
    for (const [ch, c] of this.#byChannel) {
      const at = c.fromTip ? undefined : (c.processed ?? c.checkpoint);
      map[ch] = at ? wireReplayId(at.replayId) : -1;
    }
    return map;
  }

  /** Accepts a received message unless it is a re-delivery of one already buffered or processed. */
  accept(channel: string, replayId: string): boolean {
    const c = this.#byChannel.get(channel);
    if (!c || isAtOrBefore(replayId, c.floor)) return false;
    c.floor = replayId;
    return true;
  }

  /** `handle` acknowledged these: they may now be resumed from and checkpointed. */
  processed(channel: string, position: CdcPosition): void {
    const c = this.#byChannel.get(channel);
    if (!c) return;
    c.processed = position;
    c.fromTip = false;
    c.tipSince = undefined;
    c.dirty = true;
  }

  /** Buffered messages were dropped: they must be accepted again when re-delivered. */
  forgetReceived(): void {
    for (const c of this.#byChannel.values()) c.floor = (c.processed ?? c.checkpoint)?.replayId;
  }

  /**
   * The channel's replayId was rejected. Returns the position the gap starts from.
   * The dedupe floor goes too: ids after a gap (or an org migration) need not be
   * greater than the rejected one.
   */
  gap(channel: string): CdcPosition | undefined {
    const c = this.#byChannel.get(channel);
    if (!c) return undefined;
    c.fromTip = true;
    c.floor = undefined;
    c.tipSince = c.processed ?? c.checkpoint;
    return c.tipSince;
  }

  /** The server confirmed a subscribe; the first one of a fresh channel starts its window. */
  live(channel: string, now: number): void {
    const c = this.#byChannel.get(channel);
    if (!c || c.everLive) return;
    c.everLive = true;
    // Local clock against Salesforce's, and transactions still running at the subscribe: the overlap margin.
    if (c.fromTip && c.tipSince === undefined) c.tipSince = { replayId: '-1', commitTimestamp: Math.max(0, now - OVERLAP_MARGIN_MS) };
  }

  /**
   * A new server-side session is about to re-subscribe. A channel that still replays
   * from -1 cannot resume exactly: events published while it was away are skipped.
   * Returns where to reconcile from, or undefined when the replay map covers it.
   */
  lostWindow(channel: string): { since: CdcPosition | undefined } | undefined {
    const c = this.#byChannel.get(channel);
    if (!c || !c.everLive || !c.fromTip) return undefined;
    return { since: c.tipSince };
  }

  /**
   * The commit time a position without an event of its own (a keepalive) carries: the channel's latest
   * known one, else when it started from the tip, else 0 (a reconcile from it errs wide).
   */
  commitTimestamp(channel: string): number {
    const c = this.#byChannel.get(channel);
    return (c?.processed ?? c?.checkpoint ?? c?.tipSince)?.commitTimestamp ?? 0;
  }

  /** Latest known position per channel (processed, else checkpoint). */
  positions(): Map<string, CdcPosition> {
    const out = new Map<string, CdcPosition>();
    for (const [ch, c] of this.#byChannel) {
      const at = c.processed ?? c.checkpoint;
      if (at) out.set(ch, at);
    }
    return out;
  }

  /** Positions that moved since the last commit; marks them clean (call `restore` if the commit fails). */
  takeDirty(): Map<string, CdcPosition> {
    const out = new Map<string, CdcPosition>();
    for (const [ch, c] of this.#byChannel) {
      if (c.dirty && c.processed) {
        out.set(ch, c.processed);
        c.dirty = false;
      }
    }
    return out;
  }

  restore(failed: Map<string, CdcPosition>): void {
    for (const ch of failed.keys()) {
      const c = this.#byChannel.get(ch);
      if (c) c.dirty = true;
    }
  }
}
