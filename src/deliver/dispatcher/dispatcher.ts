/**
 * The dispatcher: consumer group `<prefix>.dispatcher` on `<prefix>.events`,
 * `<prefix>.deliveries` (redeliveries) and every retry topic. It fans each
 * event out to the subscriptions it matches (`fanOut`), turns every delivery
 * into attempts through the executor of the subscription's destination type,
 * and every attempt into a durable outcome: delivered, or a record on a retry
 * topic, or a dead letter.
 *
 * First attempts need no topic of their own. An earlier design wrote one
 * record per (event, subscription) to `<prefix>.deliveries` and read it back:
 * that hop (produce, broker write, fetch, decode, second commit) was ~60 % of
 * the CPU of a delivery. Isolation never came from that topic (its partitions
 * are shared by many subscriptions) but from the lanes below, and durability
 * is the same: an event's offset is committed once every delivery made from
 * it has a durable outcome.
 *
 * Head-of-line blocking. Partitions are shared by many subscriptions,
 * so the dispatcher never waits on an endpoint inside the Kafka fetch loop:
 * `eachBatch` only hands records to per-subscription lanes (`lane.ts`: a
 * concurrency limit, per-record order) and returns. A slow subscription fills
 * its own lane; past `laneCapacity` its overflow is deferred to the first retry
 * tier (not counted as an attempt) instead of growing memory or stalling the
 * partition. When this instance holds `maxOpenPerPartition` records of a
 * partition whose outcome is not yet durable, the queued records of that
 * partition in lanes that would not reach them before the first retry delay
 * (slow endpoints: their oldest records hold the commit position back) are
 * deferred the same way; only if there are none is the partition paused, and
 * resumed when that halves.
 *
 * Circuit breaker. While a subscription's breaker is open, a record due for an
 * attempt is held (`planHold`): it goes to the first retry tier, its attempts
 * untouched, due when the breaker admits a probe; when a probe succeeds, every
 * held record of that subscription is released at once.
 *
 * Retry topics. A record read from a retry topic before its `dueAt` waits in
 * memory (a timer at the earliest due time), not in the fetch loop, so waiting
 * never blocks other topics or partitions; a tier's partition is paused once
 * enough records of it wait (the same bound), which is "pause until due"
 * without a fetch round trip per record.
 *
 * Commits. Outcomes finish out of order; `OffsetTracker` commits the end of
 * the longest prefix of records whose outcome is durable: delivered, or the
 * retry/DLQ record acknowledged by Kafka. Anything else is read again after a
 * crash or rebalance (at-least-once; `webhook-id` lets receivers deduplicate).
 */
import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import { toError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { retry, retryPolicy } from '../../core/retry.js';
import type { Topics } from '../../kafka/topics.js';
import type { Batch, ConsumedMessage, GroupConsumer, KafkaClient, Producer, TopicPartition } from '../../kafka/types.js';
import type { Metrics } from '../../observability/metrics.js';
import type { SubscriptionRecord } from '../../state/records.js';
import { fanOut, structuredEvent } from '../matcher/matcher.js';
import { decodeDelivery, deliveryId, encodeDelivery, type DeliveryRecord } from '../record.js';
import type { DeliveryStateKeeper } from '../state/keeper.js';
import { systemClock, type AttemptOutcome, type Clock, type DeliveryAttempt, type ExecutorRegistry, type Executor } from '../types.js';
import { EngineAttempt } from './attempt.js';
import { BreakerConfigSchema, CircuitBreaker } from './breaker.js';
import { Lane, type LaneProgress } from './lane.js';
import { OffsetTracker, type Taken } from './offsets.js';
import { defer, makeSchedule, planHold, planNext, type Hold, type Next, type Schedule } from './plan.js';

export const DispatcherConfigSchema = z
  .object({
    groupId: z.string().min(1).describe('consumer group, `<prefix>.dispatcher`'),
    retrySchedule: z.array(z.number().int().min(0)).min(1).describe('delays after each failed attempt (FORCEHOOK_RETRY_SCHEDULE)'),
    jitter: z.number().min(0).max(1).default(0.1),
    concurrency: z.number().int().min(1).default(10).describe('attempts in flight per subscription'),
    laneCapacity: z.number().int().min(1).default(1_000).describe('records queued per subscription before the overflow is deferred'),
    maxOpenPerPartition: z.number().int().min(1).default(5_000).describe('records held per partition before it is paused'),
    attemptTimeoutMs: z.number().int().min(1).default(60_000).describe('hard bound of one attempt, whatever the executor does'),
    commitIntervalMs: z.number().int().min(0).default(100),
    breaker: BreakerConfigSchema.default({ failureThreshold: 5, cooldownMs: 30_000, maxCooldownMs: 300_000 }),
  })
  .strict();
export type DispatcherConfig = z.input<typeof DispatcherConfigSchema>;

export interface DispatcherDeps {
  kafka: KafkaClient;
  topics: Topics;
  subscription(id: string): SubscriptionRecord | undefined;
  /** Every subscription (the fan-out of `<prefix>.events`); called once per fetched batch. */
  subscriptions(): SubscriptionRecord[];
  keeper: DeliveryStateKeeper;
  executors: ExecutorRegistry;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  random?: () => number;
}

export interface Dispatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For tests and metrics. */
  stats(): { waiting: number; held: number; queued: number; inFlight: number; breakers: Record<string, string> };
}

interface Item {
  taken: Taken;
  record: DeliveryRecord;
  recordKey: string;
  /** One event fanned out to several subscriptions: its offset is durable once all of them are. */
  share?: { left: number };
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * The labelled children of the per-attempt metrics, looked up once per
 * (type, outcome): prom-client hashes a labels object on every call, which
 * showed in the delivery profile at thousands of attempts per second.
 */
const attemptMetrics = new WeakMap<Metrics, Map<string, { duration: { observe(v: number): void }; attempts: { inc(): void } }>>();
function perAttempt(m: Metrics, type: string, outcome: string): { duration: { observe(v: number): void }; attempts: { inc(): void } } {
  let byKey = attemptMetrics.get(m);
  if (!byKey) attemptMetrics.set(m, (byKey = new Map()));
  const key = `${type}\u0000${outcome}`;
  let c = byKey.get(key);
  if (!c) byKey.set(key, (c = { duration: m.deliveryDuration.labels({ type }), attempts: m.deliveryAttempts.labels({ type, outcome }) }));
  return c;
}

/** Subscriptions by connection id: an event is matched only against its own connection's (thousands of orgs). */
type SubscriptionIndex = Map<string, SubscriptionRecord[]>;

function indexSubscriptions(all: readonly SubscriptionRecord[]): SubscriptionIndex {
  const index: SubscriptionIndex = new Map();
  for (const s of all) {
    const list = index.get(s.connectionId);
    if (list) list.push(s);
    else index.set(s.connectionId, [s]);
  }
  return index;
}

export function createDispatcher(cfg: DispatcherConfig, deps: DispatcherDeps): Dispatcher {
  const c = DispatcherConfigSchema.parse(cfg);
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'dispatcher' });
  const schedule: Schedule = makeSchedule(c.retrySchedule, { jitter: c.jitter });
  const retryTopics = new Map(schedule.tiers.map((ms) => [deps.topics.retry(ms), ms]));
  const tracker = new OffsetTracker();
  const lanes = new Map<string, Lane<Item>>();
  const progress: LaneProgress = { lastCompletionAt: 0 };
  const breakers = new Map<string, CircuitBreaker>();
  /** Retry records not due yet, per partition. */
  const waiting = new Map<string, Item[]>();
  const paused = new Map<string, TopicPartition>();
  const stopping = new AbortController();
  // Every outcome waiting to be produced again (the broker down) waits on this one
  // signal: thousands at once are expected, not a listener leak (node warns past 10).
  setMaxListeners(0, stopping.signal);
  /** Attempts in flight, aborted together at stop (one set rather than a stop listener per attempt). */
  const attempts = new Set<EngineAttempt>();
  const now = (): number => clock.now();
  const produceForever = retryPolicy({ maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 200, maxDelayMs: 10_000 });
  let consumer: GroupConsumer | undefined;
  let producer: Producer | undefined;
  let dueTimer: unknown;
  let dueAt = Infinity;
  let commitTimer: unknown;
  let committing: Promise<void> = Promise.resolve();

  const breakerOf = (id: string): CircuitBreaker => {
    let b = breakers.get(id);
    if (!b) breakers.set(id, (b = new CircuitBreaker(c.breaker, clock)));
    return b;
  };

  const laneOf = (id: string): Lane<Item> => {
    let l = lanes.get(id);
    if (!l) lanes.set(id, (l = new Lane<Item>(c.concurrency, (item) => attempt(item), now, progress)));
    return l;
  };

  // --- back-pressure --------------------------------------------------------

  const backPressure = (tp: TopicPartition): void => {
    const open = tracker.openCount(tp);
    const k = tpKey(tp);
    if (open >= c.maxOpenPerPartition && !paused.has(k)) {
      // Pausing stops every subscription reading this partition. When a slow but
      // alive endpoint is what holds the partition's records open, move its lane's
      // queued records of this partition to the first retry tier instead: they are
      // durable there, the commit position moves past them, and the others go on.
      if (evictSlow(tp) > 0) return;
      paused.set(k, tp);
      consumer?.pause([tp]);
      log.info({ ...tp, open }, 'partition paused: too many records without a durable outcome');
    } else if (paused.has(k)) {
      if (open < c.maxOpenPerPartition / 2) {
        paused.delete(k);
        consumer?.resume([tp]);
      } else {
        // A lane can turn out slow only after the pause (its pace needs a whole second): look again, now and then.
        evictSlow(tp);
      }
    }
  };

  // --- commits --------------------------------------------------------------

  const scheduleCommit = (): void => {
    if (commitTimer !== undefined) return;
    commitTimer = clock.setTimeout(() => {
      commitTimer = undefined;
      committing = committing.then(commitNow);
    }, c.commitIntervalMs);
  };

  const commitNow = async (): Promise<void> => {
    const offsets = tracker.committable();
    if (offsets.length === 0 || !consumer) return;
    try {
      await consumer.commit(offsets);
      tracker.acknowledge(offsets);
    } catch (err) {
      // Usually a rebalance: the new owner re-reads from the last commit.
      log.warn({ err: toError(err).message }, 'dispatcher commit failed; retried with the next one');
    }
  };

  const durable = (item: Item): void => {
    if (item.share && --item.share.left > 0) return;
    if (tracker.done(item.taken)) {
      scheduleCommit();
      backPressure(item.taken.tp);
    }
  };

  // --- producing outcomes ---------------------------------------------------

  /** Resolves once Kafka has the record; retries until then or until stop (then the offset stays uncommitted). */
  const produce = (topic: string, record: DeliveryRecord, extraHeaders: Record<string, string> = {}): Promise<void> =>
    retry(
      produceForever,
      async () => {
        const msg = encodeDelivery(record);
        await producer!.send(topic, [{ ...msg, headers: { ...msg.headers, ...extraHeaders } }]);
      },
      { signal: stopping.signal, onRetry: (err, n) => log.warn({ err: err.message, topic, attempt: n }, 'producing a delivery outcome failed; retrying') },
    );

  const deadLetter = async (item: Item, record: DeliveryRecord, reason: string): Promise<void> => {
    await produce(deps.topics.dlq, record, { 'fh-dead-reason': reason });
    deps.keeper.deadLettered(record.subscriptionId);
    deps.metrics?.deliveryDeadLettered.inc({ reason });
    const ids = (record.event.data ?? {}) as { connectionId?: string; orgId?: string };
    log.info({ subscriptionId: record.subscriptionId, connectionId: ids.connectionId, orgId: ids.orgId, eventId: record.event.id, attempts: record.attempts, reason, error: record.lastError }, 'delivery dead-lettered');
    durable(item);
  };

  // --- routing --------------------------------------------------------------

  /** To the first retry tier without an attempt; durable once Kafka has it. */
  const deferItem = (item: Item): void => {
    const d = defer(item.record, schedule, clock.now());
    void produce(deps.topics.retry(d.tier), d.record)
      .then(() => durable(item))
      .catch(() => undefined);
  };

  /** A lane that would not reach the end of its queue before the first retry delay. */
  const isSlow = (lane: Lane<Item>): boolean => lane.queued > 0 && lane.expectedWaitMs() > schedule.tiers[0]!;

  /** When each partition's lanes were last looked at for eviction (the look walks every lane). */
  const evictLooked = new Map<string, number>();

  /** Defers the queued records of `tp` held by lanes that would not reach them before the first retry delay. */
  const evictSlow = (tp: TopicPartition): number => {
    const k = tpKey(tp);
    const t = clock.now();
    if (t - (evictLooked.get(k) ?? -Infinity) < 250) return 0;
    evictLooked.set(k, t);
    let moved = 0;
    for (const lane of lanes.values()) {
      if (!isSlow(lane)) continue;
      const items = lane.take((it) => it.taken.tp.partition === tp.partition && it.taken.tp.topic === tp.topic);
      for (const item of items) deferItem(item);
      moved += items.length;
    }
    if (moved > 0) {
      log.info({ ...tp, moved }, 'partition at its limit: queued records of slow subscriptions deferred instead of pausing it');
    }
    return moved;
  };

  const route = (item: Item): void => {
    const { record } = item;
    const sub = deps.subscription(record.subscriptionId);
    if (!sub) {
      // The subscription was deleted: its events are no longer wanted by anyone.
      deps.metrics?.deliveryAttempts.inc({ type: 'unknown', outcome: 'subscription_deleted' });
      durable(item);
      return;
    }
    if (deps.keeper.isDisabled(sub.id)) {
      void deadLetter(item, { ...record, lastError: record.lastError ?? 'subscription is disabled' }, 'disabled').catch(() => undefined);
      return;
    }
    const lane = laneOf(sub.id);
    // Overflow is deferred only when the lane would not get to it before the
    // first retry delay anyway: a fast endpoint's burst queues (memory is still
    // bounded by maxOpenPerPartition) instead of waiting out that delay.
    if (lane.queued >= c.laneCapacity && isSlow(lane)) {
      deferItem(item);
      return;
    }
    lane.push(item);
  };

  const attempt = async (item: Item): Promise<void> => {
    if (!tracker.isCurrent(item.taken) || stopping.signal.aborted) return; // revoked or stopping: re-read later
    const { record } = item;
    const sub = deps.subscription(record.subscriptionId);
    if (!sub) return route(item);
    const type = sub.destination.type;
    const executor = deps.executors[type] as Executor | undefined;
    let next: Next | Hold;
    if (!executor) {
      next = planNext(record, { result: 'dead', error: `no executor for destination type '${type}' on this instance` }, schedule, clock.now());
    } else {
      // One timer per attempt, bounded by the executor's own limit too, so the
      // executor needs none of its own; the attempt makes an AbortSignal only
      // if the executor asks for one (EngineAttempt).
      const budgetMs = Math.min(c.attemptTimeoutMs, executor.timeoutMs ?? Infinity);
      const breaker = breakerOf(sub.id);
      if (breaker.admit() === 'reject') {
        // No request is made, so no attempt is counted: the record waits for the breaker.
        deps.metrics?.deliveryAttempts.inc({ type, outcome: 'short_circuit' });
        next = planHold(record, schedule, clock.now(), { until: breaker.nextAdmitAt(budgetMs), graceMs: c.breaker.maxCooldownMs });
      } else {
        const outcome = await execute(item, sub, executor, budgetMs);
        if (!outcome) {
          breaker.release();
          return; // no verdict: the offset stays uncommitted and the attempt is made again
        }
        const before = breaker.state;
        if (outcome.result === 'delivered') breaker.success();
        else breaker.failure();
        if (breaker.state !== before) breakerMoved(sub.id, breaker);
        deps.keeper.attempt(sub.id, outcome.result === 'delivered', outcome.result === 'delivered' ? undefined : outcome.error);
        next = planNext(record, outcome, schedule, clock.now(), deps.random);
      }
    }
    try {
      switch (next.action) {
        case 'done':
          durable(item);
          return;
        case 'retry':
        case 'hold':
          await produce(deps.topics.retry(next.tier), next.record);
          durable(item);
          return;
        case 'dlq':
          if (next.disable) await deps.keeper.disable(sub.id, next.record.lastError ?? 'destination gone');
          await deadLetter(item, next.record, next.reason);
          return;
      }
    } catch (err) {
      if (!stopping.signal.aborted) log.error({ err }, 'recording a delivery outcome failed; the record will be read again');
    }
  };

  /** One real attempt; undefined when the dispatcher stopped meanwhile (no verdict). */
  const execute = async (item: Item, sub: SubscriptionRecord, executor: Executor, budgetMs: number): Promise<AttemptOutcome | undefined> => {
    const { record } = item;
    const started = clock.now();
    const a = new EngineAttempt(deliveryId(record), sub as DeliveryAttempt['subscription'], record.event, record.attempts + 1, budgetMs, now);
    const timer = setTimeout(() => a.abort(new DOMException(`attempt exceeded ${budgetMs} ms`, 'TimeoutError')), budgetMs);
    attempts.add(a);
    let outcome: AttemptOutcome;
    try {
      outcome = await executor.execute(a);
    } catch (err) {
      outcome = { result: 'retry', error: `executor failed: ${toError(err).message}` };
    } finally {
      clearTimeout(timer);
      attempts.delete(a);
    }
    if (stopping.signal.aborted) return undefined;
    if (deps.metrics) {
      const m = perAttempt(deps.metrics, sub.destination.type, outcome.result);
      m.duration.observe((clock.now() - started) / 1000);
      m.attempts.inc();
    }
    return outcome;
  };

  /**
   * When a held record is due: at once once its breaker closed (or this
   * instance has no breaker for it, after a restart or a rebalance: it finds out
   * afresh); at the cooldown's end while the breaker is open, which may be
   * earlier than the `dueAt` it was produced with (held while a probe ran, whose
   * verdict came early); while a probe runs, at its `dueAt` (the probe's bound).
   */
  const dueOf = (record: DeliveryRecord): number => {
    const due = record.dueAt ?? 0;
    if (!record.held) return due;
    const b = breakers.get(record.subscriptionId);
    if (!b || b.state === 'closed') return 0;
    return b.state === 'open' ? Math.min(due, b.nextAdmitAt(0)) : due;
  };

  /**
   * A probe's verdict moved the breaker: closed, the records it held for this
   * subscription go out now, in the order they were held (one tier, one
   * partition per subscription: offset order); open again, they are due at the
   * new cooldown's end.
   */
  const breakerMoved = (subscriptionId: string, breaker: CircuitBreaker): void => {
    if (breaker.state === 'half_open') return;
    const released: Item[] = [];
    for (const [k, items] of waiting) {
      const keep: Item[] = [];
      for (const it of items) (it.record.held && it.record.subscriptionId === subscriptionId && dueOf(it.record) <= clock.now() ? released : keep).push(it);
      if (keep.length === items.length) continue;
      if (keep.length) waiting.set(k, keep);
      else waiting.delete(k);
    }
    if (released.length) {
      log.info({ subscriptionId, released: released.length }, 'circuit closed: held deliveries released');
      for (const it of released) route(it);
    }
    armDueTimer();
  };

  // --- retry topics: waiting until due --------------------------------------

  const armDueTimer = (): void => {
    let earliest = Infinity;
    for (const items of waiting.values()) for (const it of items) earliest = Math.min(earliest, dueOf(it.record));
    if (earliest === dueAt) return;
    if (dueTimer !== undefined) clock.clearTimeout(dueTimer);
    dueTimer = undefined;
    dueAt = earliest;
    if (earliest === Infinity) return;
    dueTimer = clock.setTimeout(releaseDue, Math.max(0, earliest - clock.now()));
  };

  const releaseDue = (): void => {
    dueTimer = undefined;
    dueAt = Infinity;
    const t = clock.now();
    const due: Item[] = [];
    let backlog = 0;
    for (const [k, items] of waiting) {
      const ready = items.filter((it) => dueOf(it.record) <= t);
      if (ready.length) {
        const rest = items.filter((it) => dueOf(it.record) > t);
        if (rest.length) waiting.set(k, rest);
        else waiting.delete(k);
        due.push(...ready);
      }
      backlog += waiting.get(k)?.length ?? 0;
    }
    // The record furthest along its schedule goes first (a stable sort keeps the
    // rest in order). When a breaker's cooldown ends, the first one due is its
    // probe: so one record's attempts move on, instead of every record spending
    // its early attempts on probes that an endpoint failing them refuses.
    if (due.length > 1) due.sort((a, b) => b.record.attempts - a.record.attempts);
    for (const it of due) route(it);
    deps.metrics?.deliveryRetryBacklog.set(backlog);
    armDueTimer();
  };

  // --- the fetch loop: hand over, never wait --------------------------------

  /**
   * An event's first attempts start here, without a hop through a topic: each
   * matching subscription's delivery goes straight to its lane. The event's
   * offset becomes committable once every one of them has a durable outcome,
   * exactly as a record of `<prefix>.deliveries` would.
   */
  const fanOutEvent = (m: ConsumedMessage, taken: Taken, subscriptions: SubscriptionIndex): number => {
    const event = structuredEvent(m);
    if (!event) {
      // Not a CloudEvent: nothing could ever deliver it. Loud, counted, skipped.
      log.error({ partition: m.partition, offset: m.offset }, 'message on the events topic is not a CloudEvent; skipped');
      deps.metrics?.deliveryUnmatchable.inc();
      tracker.done(taken);
      return 0;
    }
    const connectionId = (event.data as { connectionId?: unknown } | undefined)?.connectionId;
    const records = typeof connectionId === 'string' ? fanOut(event, subscriptions.get(connectionId) ?? []) : [];
    if (records.length === 0) {
      tracker.done(taken);
      return 0;
    }
    const share = records.length > 1 ? { left: records.length } : undefined;
    for (const record of records) route(share ? { taken, record, recordKey: record.recordKey, share } : { taken, record, recordKey: record.recordKey });
    return records.length;
  };

  const take = (m: ConsumedMessage, subscriptions: SubscriptionIndex | undefined): number => {
    const tp = { topic: m.topic, partition: m.partition };
    const taken = tracker.take(tp, m.offset);
    if (!taken) return 0;
    if (subscriptions) return fanOutEvent(m, taken, subscriptions);
    const record = decodeDelivery(m);
    if (!record) {
      log.error({ ...tp, offset: m.offset }, 'not a delivery record; skipped');
      tracker.done(taken);
      return 0;
    }
    const item: Item = { taken, record, recordKey: record.recordKey };
    if (retryTopics.has(m.topic) && dueOf(record) > clock.now()) {
      const k = tpKey(tp);
      const list = waiting.get(k) ?? [];
      list.push(item);
      waiting.set(k, list);
      return 0;
    }
    route(item);
    return 0;
  };

  const eachBatch = async (batch: Batch): Promise<void> => {
    const subscriptions = batch.topic === deps.topics.events ? indexSubscriptions(deps.subscriptions()) : undefined;
    let matched = 0;
    for (const m of batch.messages) matched += take(m, subscriptions);
    if (matched) deps.metrics?.deliveriesMatched.inc(matched);
    armDueTimer();
    let backlog = 0;
    for (const items of waiting.values()) backlog += items.length;
    deps.metrics?.deliveryRetryBacklog.set(backlog);
    backPressure({ topic: batch.topic, partition: batch.partition });
    scheduleCommit();
  };

  const revoked = (tps: TopicPartition[]): void => {
    for (const tp of tps) {
      tracker.reset(tp);
      waiting.delete(tpKey(tp));
      paused.delete(tpKey(tp));
      evictLooked.delete(tpKey(tp));
    }
    for (const lane of lanes.values()) lane.drop((it) => !tracker.isCurrent(it.taken));
    armDueTimer();
  };

  return {
    async start() {
      producer = deps.kafka.producer();
      consumer = deps.kafka.consumer(c.groupId, { maxWaitTimeMs: 200, onRevoked: revoked });
      await consumer.subscribe([deps.topics.events, deps.topics.deliveries, ...retryTopics.keys()], { fromBeginning: true });
      await consumer.run({ eachBatch, partitionsConcurrently: 4 });
      log.info({ tiers: schedule.tiers }, 'dispatcher started');
    },
    async stop() {
      stopping.abort();
      for (const a of attempts) a.abort(stopping.signal.reason);
      attempts.clear();
      if (dueTimer !== undefined) clock.clearTimeout(dueTimer);
      if (commitTimer !== undefined) clock.clearTimeout(commitTimer);
      commitTimer = undefined;
      await committing;
      await commitNow();
      await consumer?.stop().catch((err: unknown) => log.warn({ err }, 'dispatcher stop failed'));
      await producer?.close().catch(() => undefined);
    },
    stats() {
      let w = 0;
      let h = 0;
      let q = 0;
      let f = 0;
      for (const items of waiting.values()) {
        w += items.length;
        for (const it of items) if (it.record.held) h++;
      }
      for (const l of lanes.values()) {
        q += l.queued;
        f += l.inFlight;
      }
      return { waiting: w, held: h, queued: q, inFlight: f, breakers: Object.fromEntries([...breakers].map(([id, b]) => [id, b.state])) };
    },
  };
}
