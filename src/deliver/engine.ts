/**
 * The delivery engine: dispatcher + delivery state + redelivery, as one unit
 * the service starts after its state is loaded. Executors are handed in by type
 * (`ExecutorRegistry`), so destination types plug in without touching it.
 *
 *   <prefix>.events ──fan-out──▶ dispatcher (lane per subscription) ──▶ executor
 *   <prefix>.deliveries ────────▶     ▲  │ retry              │ dead/exhausted
 *        ▲                            │  ▼                    ▼
 *   redeliver            <prefix>.retry.<delay>          <prefix>.dlq
 */
import { z } from 'zod';
import type { Logger } from '../core/log.js';
import type { Topics } from '../kafka/topics.js';
import type { KafkaClient } from '../kafka/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { ServiceStore } from '../state/store.js';
import { BreakerConfigSchema } from './dispatcher/breaker.js';
import { createDispatcher, DispatcherConfigSchema, type Dispatcher } from './dispatcher/dispatcher.js';
import { createRedeliverer, type Redeliverer } from './redeliver/redeliver.js';
import { DeliveryStateKeeper } from './state/keeper.js';
import { systemClock, type Clock, type ExecutorRegistry } from './types.js';

export const DeliveryEngineConfigSchema = z
  .object({
    prefix: z.string().min(1).describe('topic prefix; the consumer group is `<prefix>.dispatcher`'),
    // Optional without a default of its own: absent, it is derived from the schedule below.
    dispatcher: DispatcherConfigSchema.omit({ groupId: true, breaker: true }).extend({ breaker: BreakerConfigSchema.optional() }),
    stateFlushMs: z.number().int().min(1).default(1_000),
  })
  .strict();
export type DeliveryEngineConfig = z.input<typeof DeliveryEngineConfigSchema>;

export interface DeliveryEngineDeps {
  kafka: KafkaClient;
  topics: Topics;
  store: ServiceStore;
  executors: ExecutorRegistry;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

export interface DeliveryEngine extends Redeliverer {
  start(): Promise<void>;
  stop(): Promise<void>;
  dispatcher: Dispatcher;
  keeper: DeliveryStateKeeper;
}

export function createDeliveryEngine(cfg: DeliveryEngineConfig, deps: DeliveryEngineDeps): DeliveryEngine {
  const c = DeliveryEngineConfigSchema.parse(cfg);
  const clock = deps.clock ?? systemClock;
  const keeper = new DeliveryStateKeeper(deps.store, clock, deps.logger, c.stateFlushMs);
  // The breaker's cooldown follows the schedule's scale: a first probe after the
  // first retry delay (5 s by default), doubling up to 5 min (or the longest delay).
  const first = Math.min(...c.dispatcher.retrySchedule);
  const breaker = c.dispatcher.breaker ?? { failureThreshold: 5, cooldownMs: first, maxCooldownMs: Math.min(300_000, Math.max(...c.dispatcher.retrySchedule)) };
  const dispatcher = createDispatcher(
    { ...c.dispatcher, breaker, groupId: `${c.prefix}.dispatcher` },
    {
      kafka: deps.kafka,
      topics: deps.topics,
      subscription: (id) => deps.store.subscription(id),
      subscriptions: () => deps.store.subscriptions(),
      onSubscriptionChange: (listener) =>
        deps.store.onChange((c) => {
          if (c.kind === 'subscription') listener(c.id);
        }),
      keeper,
      executors: deps.executors,
      logger: deps.logger,
      clock,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    },
  );
  const redeliverer = createRedeliverer({
    kafka: deps.kafka,
    topics: deps.topics,
    store: deps.store,
    keeper,
    logger: deps.logger,
    clock,
    groupPrefix: `${c.prefix}.redeliver`,
  });
  if (deps.metrics) {
    const gauge = deps.metrics.deliveryDlqSize;
    // Collected on scrape: the store already holds every subscription's count.
    Object.assign(gauge, {
      collect() {
        gauge.set(deps.store.deliveryStates().reduce((n, d) => n + d.dlqCount, 0));
      },
    });
  }
  return {
    dispatcher,
    keeper,
    ...redeliverer,
    async start() {
      await dispatcher.start();
    },
    async stop() {
      await dispatcher.stop();
      await keeper.stop().catch(() => undefined);
      await Promise.allSettled(Object.values(deps.executors).map((e) => e?.close?.()));
    },
  };
}
