import type { TopicPartition } from '../../kafka/types.js';
import { tpKey, type DispatchContext, type Item } from './context.js';
import { Lane, type LaneProgress } from './lane.js';
import type { Outcomes } from './outcomes.js';

/**
 * Routing and eviction: a record goes to its subscription's lane (`lane.ts`:
 * a concurrency limit, per-record order), or is deferred to the first retry
 * tier when that lane would not reach it before the first retry delay anyway.
 *
 * Paused subscriptions. A record of a paused subscription is parked here, in
 * arrival order, and its outcome stays open: the commit position cannot pass
 * it, so a crash or a rebalance reads it again and nothing is lost. Pausing
 * also parks the lane's queued (not started) records; attempts already running
 * finish. On resume the parked records are routed again in the order they were
 * parked, so per-record order holds. Parked records count toward the
 * partition's open records: a long pause under heavy traffic reaches
 * `maxOpenPerPartition` and pauses the partition for every subscription
 * reading it, until the subscription is resumed (or deleted).
 */
export class Router {
  readonly #lanes = new Map<string, Lane<Item>>();
  readonly #parked = new Map<string, Item[]>();
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
    if (sub.pausedAt !== undefined) {
      const list = this.#parked.get(sub.id);
      if (list) list.push(item);
      else this.#parked.set(sub.id, [item]);
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

  /**
   * A subscription's record changed (on any instance: the state topic brings it).
   * Paused: its lane's queued records are parked behind those parked already.
   * Resumed or deleted: its parked records are routed again, in order.
   */
  subscriptionChanged(id: string): void {
    const sub = this.ctx.deps.subscription(id);
    if (sub?.pausedAt !== undefined) {
      const queued = this.#lanes.get(id)?.take(() => true) ?? [];
      if (queued.length) this.#parked.set(id, [...(this.#parked.get(id) ?? []), ...queued]);
      return;
    }
    const parked = this.#parked.get(id);
    if (!parked) return;
    this.#parked.delete(id);
    this.ctx.log.info({ subscriptionId: id, parked: parked.length, deleted: !sub }, 'subscription resumed: parked deliveries routed');
    for (const item of parked) this.route(item);
  }

  /** Releases parked records whose subscription is no longer paused (for a dispatcher without change notices). */
  recheckParked(): void {
    for (const id of [...this.#parked.keys()]) if (this.ctx.deps.subscription(id)?.pausedAt === undefined) this.subscriptionChanged(id);
  }

  /** The partition was revoked. */
  forget(tp: TopicPartition): void {
    this.#evictLooked.delete(tpKey(tp));
  }

  /** Drops queued records of revoked partitions (their new owner reads them again). */
  dropRevoked(): void {
    for (const lane of this.#lanes.values()) lane.drop((it) => !this.ctx.tracker.isCurrent(it.taken));
    for (const [id, items] of this.#parked) {
      const kept = items.filter((it) => this.ctx.tracker.isCurrent(it.taken));
      if (kept.length) this.#parked.set(id, kept);
      else this.#parked.delete(id);
    }
  }

  stats(): { queued: number; inFlight: number; parked: number } {
    let queued = 0;
    let inFlight = 0;
    let parked = 0;
    for (const l of this.#lanes.values()) {
      queued += l.queued;
      inFlight += l.inFlight;
    }
    for (const items of this.#parked.values()) parked += items.length;
    return { queued, inFlight, parked };
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
