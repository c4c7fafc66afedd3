import type { TopicPartition } from '../../kafka/types.js';
import type { DeliveryRecord } from '../record.js';
import type { Breakers, CircuitBreaker } from './breaker.js';
import { tpKey, type DispatchContext, type Item } from './context.js';

/**
 * Retry topics: waiting until due. A record read from a retry topic before its
 * `dueAt` waits here (one timer at the earliest due time), not in the fetch
 * loop, so waiting never blocks other topics or partitions. Held records (their
 * breaker was open) are due when their breaker admits a probe, and all at once
 * when a probe succeeds.
 */
export class WaitingRoom {
  /** Retry records not due yet, per partition. */
  readonly #waiting = new Map<string, Item[]>();
  #dueTimer: unknown;
  #dueAt = Infinity;

  constructor(
    private readonly ctx: DispatchContext,
    private readonly breakers: Breakers,
    private readonly route: (item: Item) => void,
  ) {}

  /** Whether a record read from a retry topic must wait; if so it is kept until due. */
  admit(tp: TopicPartition, item: Item): boolean {
    if (this.dueOf(item.record) <= this.ctx.clock.now()) return false;
    const k = tpKey(tp);
    const list = this.#waiting.get(k) ?? [];
    list.push(item);
    this.#waiting.set(k, list);
    return true;
  }

  /**
   * When a held record is due: at once once its breaker closed (or this
   * instance has no breaker for it, after a restart or a rebalance: it finds out
   * afresh); at the cooldown's end while the breaker is open, which may be
   * earlier than the `dueAt` it was produced with (held while a probe ran, whose
   * verdict came early); while a probe runs, at its `dueAt` (the probe's bound).
   */
  dueOf(record: DeliveryRecord): number {
    const due = record.dueAt ?? 0;
    if (!record.held) return due;
    const b = this.breakers.get(record.subscriptionId);
    if (!b || b.state === 'closed') return 0;
    return b.state === 'open' ? Math.min(due, b.nextAdmitAt(0)) : due;
  }

  /**
   * A probe's verdict moved the breaker: closed, the records it held for this
   * subscription go out now, in the order they were held (one tier, one
   * partition per subscription: offset order); open again, they are due at the
   * new cooldown's end.
   */
  breakerMoved(subscriptionId: string, breaker: CircuitBreaker): void {
    if (breaker.state === 'half_open') return;
    const { clock, log } = this.ctx;
    const released: Item[] = [];
    for (const [k, items] of this.#waiting) {
      const keep: Item[] = [];
      for (const it of items)
        (it.record.held && it.record.subscriptionId === subscriptionId && this.dueOf(it.record) <= clock.now() ? released : keep).push(it);
      if (keep.length === items.length) continue;
      if (keep.length) this.#waiting.set(k, keep);
      else this.#waiting.delete(k);
    }
    if (released.length) {
      log.info({ subscriptionId, released: released.length }, 'circuit closed: held deliveries released');
      for (const it of released) this.route(it);
    }
    this.armDueTimer();
  }

  armDueTimer(): void {
    const { clock } = this.ctx;
    let earliest = Infinity;
    for (const items of this.#waiting.values()) for (const it of items) earliest = Math.min(earliest, this.dueOf(it.record));
    if (earliest === this.#dueAt) return;
    if (this.#dueTimer !== undefined) clock.clearTimeout(this.#dueTimer);
    this.#dueTimer = undefined;
    this.#dueAt = earliest;
    if (earliest === Infinity) return;
    this.#dueTimer = clock.setTimeout(() => this.#releaseDue(), Math.max(0, earliest - clock.now()));
  }

  #releaseDue(): void {
    this.#dueTimer = undefined;
    this.#dueAt = Infinity;
    const t = this.ctx.clock.now();
    const due: Item[] = [];
    let backlog = 0;
    for (const [k, items] of this.#waiting) {
      const ready = items.filter((it) => this.dueOf(it.record) <= t);
      if (ready.length) {
        const rest = items.filter((it) => this.dueOf(it.record) > t);
        if (rest.length) this.#waiting.set(k, rest);
        else this.#waiting.delete(k);
        due.push(...ready);
      }
      backlog += this.#waiting.get(k)?.length ?? 0;
    }
    // The record furthest along its schedule goes first (a stable sort keeps the
    // rest in order). When a breaker's cooldown ends, the first one due is its
    // probe: so one record's attempts move on, instead of every record spending
    // its early attempts on probes that an endpoint failing them refuses.
    if (due.length > 1) due.sort((a, b) => b.record.attempts - a.record.attempts);
    for (const it of due) this.route(it);
    this.ctx.deps.metrics?.deliveryRetryBacklog.set(backlog);
    this.armDueTimer();
  }

  /** Records waiting, for the retry backlog gauge. */
  backlog(): number {
    let backlog = 0;
    for (const items of this.#waiting.values()) backlog += items.length;
    return backlog;
  }

  /** The partition was revoked: its records are read again by its new owner. */
  forget(tp: TopicPartition): void {
    this.#waiting.delete(tpKey(tp));
  }

  /** At stop. */
  stop(): void {
    if (this.#dueTimer !== undefined) this.ctx.clock.clearTimeout(this.#dueTimer);
  }

  stats(): { waiting: number; held: number } {
    let waiting = 0;
    let held = 0;
    for (const items of this.#waiting.values()) {
      waiting += items.length;
      for (const it of items) if (it.record.held) held++;
    }
    return { waiting, held };
  }
}
