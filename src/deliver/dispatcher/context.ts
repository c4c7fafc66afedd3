/**
 * What every stage of the dispatcher shares: its parsed configuration, its
 * dependencies, the offset tracker, the stop signal and the Kafka handles made
 * at start. Stages keep their own state; this holds only what is common.
 */
import { z } from 'zod';
import type { Logger } from '../../core/log.js';
import type { Topics } from '../../kafka/topics.js';
import type { GroupConsumer, KafkaClient, Producer, TopicPartition } from '../../kafka/types.js';
import type { Metrics } from '../../observability/metrics.js';
import type { SubscriptionRecord } from '../../state/records.js';
import type { DeliveryRecord } from '../record.js';
import type { DeliveryStateKeeper } from '../state/keeper.js';
import type { Clock, ExecutorRegistry } from '../types.js';
import { BreakerConfigSchema } from './breaker.js';
import type { OffsetTracker, Taken } from './offsets.js';
import type { Schedule } from './plan.js';

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
export type ParsedDispatcherConfig = z.output<typeof DispatcherConfigSchema>;

export interface DispatcherDeps {
  kafka: KafkaClient;
  topics: Topics;
  subscription(id: string): SubscriptionRecord | undefined;
  /** Every subscription (the fan-out of `<prefix>.events`); called once per fetched batch. */
  subscriptions(): SubscriptionRecord[];
  /**
   * Calls `listener` with a subscription's id whenever its record changes, on any
   * instance (pause, resume, delete); returns the unregistration. Without it,
   * parked records of a resumed subscription wait for the next fetched batch.
   */
  onSubscriptionChange?(listener: (id: string) => void): () => void;
  keeper: DeliveryStateKeeper;
  executors: ExecutorRegistry;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  random?: () => number;
}

/** One delivery on its way: the record, and the fetched offset whose commit waits for its outcome. */
export interface Item {
  taken: Taken;
  record: DeliveryRecord;
  recordKey: string;
  /** One event fanned out to several subscriptions: its offset is durable once all of them are. */
  share?: { left: number };
}

export interface DispatchContext {
  readonly cfg: ParsedDispatcherConfig;
  readonly deps: DispatcherDeps;
  readonly clock: Clock;
  readonly log: Logger;
  readonly schedule: Schedule;
  readonly tracker: OffsetTracker;
  /** Aborted at stop: attempts end, outcomes waiting to be produced give up (their offsets stay uncommitted). */
  readonly stopping: AbortSignal;
  /** Made at start. */
  consumer: GroupConsumer | undefined;
  producer: Producer | undefined;
}

export const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;
