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
 *
 * The stages, in the order a record meets them (each a module of its own,
 * sharing the `DispatchContext`):
 *   fetch-loop.ts     take each record once, fan events out, hand over
 *   waiting.ts        retry records not due yet; held records and the breaker
 *   routing.ts        to the subscription's lane, deferred (and eviction), or parked while paused
 *   attempt-runner.ts the breaker, the executor (attempt.ts), the next step (plan.ts)
 *   outcomes.ts       retry records and dead letters, produced until Kafka has them; the attempt log
 *   commits.ts        durable outcomes → committed offsets (offsets.ts)
 *   back-pressure.ts  defer or pause a partition holding too many open records
 */
import { setMaxListeners } from 'node:events';
import { systemClock } from '../types.js';
import { AttemptRunner } from './attempt-runner.js';
import { BackPressure } from './back-pressure.js';
import { Breakers } from './breaker.js';
import { Commits } from './commits.js';
import { DispatcherConfigSchema, type DispatchContext, type DispatcherConfig, type DispatcherDeps, type Item } from './context.js';
import { FetchLoop } from './fetch-loop.js';
import { OffsetTracker } from './offsets.js';
import { Outcomes } from './outcomes.js';
import { makeSchedule } from './plan.js';
import { Router } from './routing.js';
import { WaitingRoom } from './waiting.js';

export { DispatcherConfigSchema, type DispatcherConfig, type DispatcherDeps } from './context.js';

export interface Dispatcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** For tests and metrics. */
  stats(): { waiting: number; held: number; queued: number; inFlight: number; parked: number; breakers: Record<string, string> };
}

export function createDispatcher(cfg: DispatcherConfig, deps: DispatcherDeps): Dispatcher {
  const c = DispatcherConfigSchema.parse(cfg);
  const clock = deps.clock ?? systemClock;
  const stopping = new AbortController();
  // Every outcome waiting to be produced again (the broker down) waits on this one
  // signal: thousands at once are expected, not a listener leak (node warns past 10).
  setMaxListeners(0, stopping.signal);
  const ctx: DispatchContext = {
    cfg: c,
    deps,
    clock,
    log: deps.logger.child({ component: 'dispatcher' }),
    schedule: makeSchedule(c.retrySchedule, { jitter: c.jitter }),
    tracker: new OffsetTracker(),
    stopping: stopping.signal,
    consumer: undefined,
    producer: undefined,
  };
  const retryTopics = new Set(ctx.schedule.tiers.map((ms) => deps.topics.retry(ms)));

  // The stages call one another in a cycle (an attempt's outcome frees room,
  // room lets eviction defer records, a deferred record's outcome frees room):
  // each gets the next one's entry point as a function, bound below.
  const durable = (item: Item): void => commits.durable(item);
  const route = (item: Item): void => router.route(item);
  const breakers = new Breakers(c.breaker, clock);
  const outcomes = new Outcomes(ctx, durable);
  const waiting = new WaitingRoom(ctx, breakers, route);
  const attempts = new AttemptRunner(ctx, { breakers, outcomes, durable, route, breakerMoved: (id, b) => waiting.breakerMoved(id, b) });
  const router = new Router(ctx, outcomes, durable, (item) => attempts.run(item));
  const backPressure = new BackPressure(ctx, (tp) => router.evictSlow(tp));
  const commits = new Commits(ctx, (tp) => backPressure.check(tp));
  const fetchLoop = new FetchLoop(ctx, { router, waiting, backPressure, commits, retryTopics });
  let unwatch: (() => void) | undefined;

  return {
    async start() {
      unwatch = deps.onSubscriptionChange?.((id) => router.subscriptionChanged(id));
      ctx.producer = deps.kafka.producer();
      ctx.consumer = deps.kafka.consumer(c.groupId, { maxWaitTimeMs: 200, onRevoked: fetchLoop.revoked });
      await ctx.consumer.subscribe([deps.topics.events, deps.topics.deliveries, ...retryTopics], { fromBeginning: true });
      await ctx.consumer.run({ eachBatch: fetchLoop.eachBatch, partitionsConcurrently: 4 });
      ctx.log.info({ tiers: ctx.schedule.tiers }, 'dispatcher started');
    },
    async stop() {
      unwatch?.();
      stopping.abort();
      attempts.abortAll(stopping.signal.reason);
      waiting.stop();
      await commits.flush();
      await outcomes.flushLog();
      await ctx.consumer?.stop().catch((err: unknown) => ctx.log.warn({ err }, 'dispatcher stop failed'));
      await ctx.producer?.close().catch(() => undefined);
    },
    stats() {
      return { ...waiting.stats(), ...router.stats(), breakers: breakers.states() };
    },
  };
}
