import type { TopicPartition } from '../../kafka/types.js';
import { tpKey, type DispatchContext, type Item } from './context.js';
import { Lane, type LaneProgress } from './lane.js';
import type { Outcomes } from './outcomes.js';

/**
 * Routing and eviction: a record goes to its subscription's lane (`lane.ts`:
 * a concurrency limit, per-record order), or is deferred to the first retry
 * tier when that lane would not reach it before the first retry delay anyway.
 */
export class Router {
  readonly #lanes = new Map<string, Lane<Item>>();
  readonly #progress: LaneProgress = { lastCompletionAt: 0 };
  /** When each partition's lanes were last looked at for eviction (the look walks every lane). */
  readonly #evictLooked = new Map<string, number>();
  readonly #now: () => number;

  constructor(
    private readonly ctx: DispatchContext,
    private readonly outcomes: Outcomes,
    private readonly durable: (item: Item) => void,
    /** A lane's work: one attempt of the item. */
    private readonly attempt: (item: Item) => Promise<void>,
  ) {
    this.#now = () => ctx.clock.now();
  }

  route(item: Item): void {
    const { deps, cfg } = this.ctx;
    const { record } = item;
    const sub = deps.subscription(record.subscriptionId);
    if (!sub) {
      // The subscription was deleted: its events are no longer wanted by anyone.
      deps.metrics?.deliveryAttempts.inc({ type: 'unknown', outcome: 'subscription_deleted' });
      this.durable(item);
      return;
    }
    if (deps.keeper.isDisabled(sub.id)) {
      void this.outcomes.deadLetter(item, { ...record, lastError: record.lastError ?? 'subscription is disabled' }, 'disabled').catch(() => undefined);
      return;
    }
    const lane = this.#laneOf(sub.id);
    // Overflow is deferred only when the lane would not get to it before the
    // first retry delay anyway: a fast endpoint's burst queues (memory is still
    // bounded by maxOpenPerPartition) instead of waiting out that delay.
    if (lane.queued >= cfg.laneCapacity && this.#isSlow(lane)) {
      this.outcomes.defer(item);
      return;
    }
    lane.push(item);
  }

  /** Defers the queued records of `tp` held by lanes that would not reach them before the first retry delay. */
  evictSlow(tp: TopicPartition): number {
    const k = tpKey(tp);
    const t = this.ctx.clock.now();
    if (t - (this.#evictLooked.get(k) ?? -Infinity) < 250) return 0;
    this.#evictLooked.set(k, t);
    let moved = 0;
    for (const lane of this.#lanes.values()) {
      if (!this.#isSlow(lane)) continue;
      const items = lane.take((it) => it.taken.tp.partition === tp.partition && it.taken.tp.topic === tp.topic);
      for (const item of items) this.outcomes.defer(item);
      moved += items.length;
    }
    if (moved > 0) {
      this.ctx.log.info({ ...tp, moved }, 'partition at its limit: queued records of slow subscriptions deferred instead of pausing it');
    }
    return moved;
  }

  /** The partition was revoked. */
  forget(tp: TopicPartition): void {
    this.#evictLooked.delete(tpKey(tp));
  }

  /** Drops queued records of revoked partitions (their new owner reads them again). */
  dropRevoked(): void {
    for (const lane of this.#lanes.values()) lane.drop((it) => !this.ctx.tracker.isCurrent(it.taken));
  }

  stats(): { queued: number; inFlight: number } {
    let queued = 0;
    let inFlight = 0;
    for (const l of this.#lanes.values()) {
      queued += l.queued;
      inFlight += l.inFlight;
    }
    return { queued, inFlight };
  }

  #laneOf(id: string): Lane<Item> {
    let l = this.#lanes.get(id);
    if (!l) this.#lanes.set(id, (l = new Lane<Item>(this.ctx.cfg.concurrency, (item) => this.attempt(item), this.#now, this.#progress)));
    return l;
  }

  /** A lane that would not reach the end of its queue before the first retry delay. */
  #isSlow(lane: Lane<Item>): boolean {
    return lane.queued > 0 && lane.expectedWaitMs() > this.ctx.schedule.tiers[0]!;
  }
}
