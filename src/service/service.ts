import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import { StateMachine } from '../core/state-machine.js';
import { retry, retryPolicy } from '../core/retry.js';
import { createHttpApp } from '../http/app.js';
import { createKafka } from '../kafka/index.js';
import { topics, topicSpecs, type Topics } from '../kafka/topics.js';
import type { KafkaClient } from '../kafka/types.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { SERVICE_TRANSITIONS, type ServiceState } from './lifecycle.js';

export interface RunningService {
  url: string;
  state(): ServiceState;
  metrics: Metrics;
  topics: Topics;
  kafka: KafkaClient;
  stop(): Promise<void>;
}

export interface ServiceDeps {
  config: Readonly<Config>;
  logger: Logger;
}

/** How long a /readyz probe may wait on Kafka before answering 503. */
const PING_TIMEOUT_MS = 3_000;

/**
 * Starts one service instance. HTTP comes up first (so liveness answers while
 * Kafka is away); topics and state load in the background, with retries, and
 * the instance turns ready only once they did.
 */
export async function startService({ config, logger }: ServiceDeps): Promise<RunningService> {
  const metrics = createMetrics();
  const lifecycle = new StateMachine<ServiceState>('service', SERVICE_TRANSITIONS, 'starting');
  lifecycle.onChange((to, from) => logger.info({ from, to }, 'service state'));
  const t = topics(config.kafka.topicPrefix);
  const kafka = createKafka({ brokers: [...config.kafka.brokers], clientId: config.kafka.clientId, logger });
  const admin = kafka.admin();
  const stopping = new AbortController();
  let loaded = false;

  const ping = async (): Promise<boolean> => {
    try {
      await withTimeout(admin.ping(), PING_TIMEOUT_MS);
      return true;
    } catch (err) {
      logger.debug({ err }, 'kafka ping failed');
      return false;
    }
  };

  const ready = async (): Promise<boolean> => {
    const ok = loaded && (await ping());
    metrics.kafkaReady.set(ok ? 1 : 0);
    if (lifecycle.state === 'running' && !ok) lifecycle.to('degraded');
    else if (lifecycle.state === 'degraded' && ok && loaded) lifecycle.to('running');
    return ok;
  };

  const boot = retry(
    retryPolicy({ maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 500, maxDelayMs: 10_000 }),
    async () => {
      await admin.ensureTopics(topicSpecs(t, config.retrySchedule));
      loaded = true;
    },
    {
      signal: stopping.signal,
      onRetry: (err, attempt, delayMs) => {
        if (lifecycle.state === 'starting') lifecycle.to('degraded');
        logger.warn({ err: err.message, attempt, delayMs }, 'waiting for Kafka');
      },
    },
  ).then(
    () => {
      if (lifecycle.state === 'starting' || lifecycle.state === 'degraded') lifecycle.to('running');
    },
    (err: unknown) => {
      if (!stopping.signal.aborted) logger.error({ err }, 'service boot failed');
    },
  );

  const app = createHttpApp({ apiToken: config.apiToken, bodyLimit: config.http.bodyLimit, logger, metrics, ready });
  const server: Server = app.listen(config.http.port, config.http.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;

  return {
    url,
    metrics,
    topics: t,
    kafka,
    state: () => lifecycle.state,
    async stop() {
      if (lifecycle.state === 'stopping' || lifecycle.state === 'stopped') return;
      lifecycle.to('stopping');
      stopping.abort();
      await boot;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await kafka.close().catch((err: unknown) => logger.warn({ err }, 'kafka close failed'));
      lifecycle.to('stopped');
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
