import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { StateMachine } from '../core/state-machine.js';
import type { RetryPolicy } from '../core/retry.js';
import { loadWorkflows, type WorkflowRegistry } from '../deliver/workflows/index.js';
import type { Executor } from '../deliver/types.js';
import type { DeliveryEngine } from '../deliver/engine.js';
import type { Topics } from '../kafka/topics.js';
import type { KafkaClient } from '../kafka/types.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { SourceManager } from '../source/manager.js';
import type { OwnershipStatus } from '../source/ownership.js';
import type { ServiceStore } from '../state/store.js';
import { SERVICE_TRANSITIONS, type ServiceState } from './lifecycle.js';
import { boot } from './wiring/boot.js';
import { wireDelivery } from './wiring/delivery.js';
import { registerGauges, readiness } from './wiring/health.js';
import { listenHttp } from './wiring/http.js';
import { wireKafkaAndState } from './wiring/kafka-state.js';
import { shutdown } from './wiring/shutdown.js';
import { wireSources } from './wiring/sources.js';

export interface RunningService {
  url: string;
  state(): ServiceState;
  metrics: Metrics;
  topics: Topics;
  kafka: KafkaClient;
  store: ServiceStore;
  sources: SourceManager;
  /** Which assignment partitions (hence orgs) this instance follows; undefined until it joined. */
  ownership(): OwnershipStatus | undefined;
  /** The workflows from config `workflows`, loaded at start. */
  workflows: WorkflowRegistry;
  /** Runs workflow destinations; the delivery engine's executor for `{"type":"workflow"}`. */
  workflowExecutor: Executor<'workflow'>;
  /** Matcher + dispatcher: events → webhooks / workflows (src/deliver). */
  delivery: DeliveryEngine;
  /** Resolves once topics exist and state was read from Kafka. */
  loaded: Promise<void>;
  /** The console's address, signed in for `key` by a one-time token (the key is not in it). */
  consoleLoginUrl(key: string): string;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  config: Readonly<Config>;
  logger: Logger;
  /** Distinguishes instances in logs and consumer groups. */
  instanceId?: string;
  /** Tests shorten how often the CDC selection is re-read. */
  modeRefreshMs?: number;
  /** Tests shorten how often, while objects are streamed, the CDC selection alone is checked. */
  selectionCheckMs?: number;
  /** Tests shorten how long an org whose streaming allocation is spent is polled before streaming is tried again. */
  streamingLimitRetry?: RetryPolicy;
}

/**
 * Starts one service instance. HTTP comes up first (so liveness answers while
 * Kafka is away); topics and state load in the background, with retries, and
 * the instance turns ready only once they did.
 *
 * The wiring, step by step (src/service/wiring/): Kafka and state, the sources
 * and their ownership, delivery, gauges and readiness, the boot in the
 * background, the HTTP app, and the shutdown that undoes them in order.
 */
export async function startService({ config, logger, instanceId, modeRefreshMs, selectionCheckMs, streamingLimitRetry }: ServiceDeps): Promise<RunningService> {
  // First, before anything opens: a workflow module that does not load is a config error, not failing deliveries later.
  const workflows = await loadWorkflows(config.workflows);
  const metrics = createMetrics();
  const lifecycle = new StateMachine<ServiceState>('service', SERVICE_TRANSITIONS, 'starting');
  lifecycle.onChange((to, from) => logger.info({ from, to }, 'service state'));
  const k = wireKafkaAndState(config, logger, metrics, instanceId);
  const s = wireSources(config, logger, metrics, k, { modeRefreshMs, selectionCheckMs, streamingLimitRetry });
  const d = wireDelivery(config, logger, metrics, k, s, workflows);
  registerGauges(metrics, k, s);

  const stopping = new AbortController();
  let isLoaded = false;
  const loaded = (): boolean => isLoaded;
  const ready = readiness({ admin: k.admin, metrics, lifecycle, loaded, logger });
  const onLoaded = (): void => {
    isLoaded = true;
  };
  const booted = boot({ config, logger, lifecycle, k, s, d, signal: stopping.signal, onLoaded });
  const { server, url, logins } = await listenHttp({ config, logger, metrics, k, s, d, workflows, ready, loaded });

  return {
    url,
    metrics,
    topics: k.topics,
    kafka: k.kafka,
    store: k.store,
    sources: s.sources,
    ownership: () => s.ownership()?.status(),
    workflows,
    workflowExecutor: d.workflowExecutor,
    delivery: d.delivery,
    loaded: booted,
    state: () => lifecycle.state,
    consoleLoginUrl: (key) => `${url}/console#login=${logins.issue(key)}`,
    stop: () => shutdown({ logger, lifecycle, stopping, booted, server, k, s, d }),
  };
}
