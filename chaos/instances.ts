/** Service instances a scenario starts: in-process, or `forcehook serve` as a child process (what `kill -9` is done to). */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config/load.js';
import { kafkaClientFromEnv } from '../src/kafka/client-name.js';
import { testLogger } from '../src/core/log.js';
import type { RetryPolicy } from '../src/core/retry.js';
import { startService, type RunningService } from '../src/service/service.js';
import { API_TOKEN, httpApi, type Api } from '../testkit/api.js';
import { spawnForcehook, type Spawned } from '../testkit/process.js';
import { waitUntil } from '../testkit/wait.js';
import type { Ctx } from './lib.js';

export const SECRET_KEY = randomBytes(32).toString('base64');

export interface Instance {
  url: string;
  api: Api;
  stop(): Promise<void>;
  kill9?(): Promise<void>;
  /** Child instances: whether the process still runs. */
  alive?(): boolean;
  service?: RunningService;
}

export interface InstanceOpts {
  prefix: string;
  instanceId?: string;
  /** Delivery retry delays in ms. */
  retrySchedule?: number[];
  brokers?: string[];
  /** Default 1 s. */
  pollIntervalS?: number;
  tokenRefreshIntervalS?: number;
  /** When the service tries streaming again after the org refused it for a spent allocation. */
  streamingLimitRetry?: RetryPolicy;
  /** While objects are streamed, how often the CDC selection alone is checked (the service's default: 1 min). */
  selectionCheckMs?: number;
}

export async function inProcessInstance(ctx: Ctx, o: InstanceOpts): Promise<Instance> {
  const config = loadConfig({
    env: ctx.transportEnv ?? {},
    overrides: {
      // FORCEHOOK_KAFKA_CLIENT picks the client library, so the scenarios can be run once per client.
      kafka: { brokers: o.brokers ?? ctx.brokers, topicPrefix: o.prefix, clientId: `forcehook-${o.prefix}`, client: kafkaClientFromEnv() },
      http: { port: 0 },
      apiToken: API_TOKEN,
      secretKey: SECRET_KEY,
      allowPrivateNetworks: true,
      // The emulator answers on loopback over http.
      salesforceHosts: ['127.0.0.1'],
      ...(o.retrySchedule ? { retrySchedule: o.retrySchedule } : {}),
      pollIntervalS: o.pollIntervalS ?? 1,
      ...(o.tokenRefreshIntervalS ? { tokenRefreshIntervalS: o.tokenRefreshIntervalS } : {}),
      logLevel: 'silent',
    },
  });
  const service = await startService({
    config,
    logger: testLogger(),
    ...(o.instanceId ? { instanceId: o.instanceId } : {}),
    ...(o.streamingLimitRetry ? { streamingLimitRetry: o.streamingLimitRetry } : {}),
    ...(o.selectionCheckMs ? { selectionCheckMs: o.selectionCheckMs } : {}),
  });
  await service.loaded;
  return { url: service.url, api: httpApi(() => service.url), stop: () => service.stop(), service };
}

/** `forcehook serve` as a child process: what `kill -9` is done to. */
export async function childInstance(ctx: Ctx, o: InstanceOpts): Promise<Instance> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: (o.brokers ?? ctx.brokers).join(','),
    FORCEHOOK_TOPIC_PREFIX: o.prefix,
    FORCEHOOK_API_TOKEN: API_TOKEN,
    FORCEHOOK_SECRET_KEY: SECRET_KEY,
    FORCEHOOK_HTTP_PORT: '0',
    FORCEHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    FORCEHOOK_SALESFORCE_HOSTS: '127.0.0.1',
    FORCEHOOK_POLL_INTERVAL_S: '1',
    LOG_LEVEL: 'warn',
    ...ctx.transportEnv,
    ...(o.retrySchedule ? { FORCEHOOK_RETRY_SCHEDULE: o.retrySchedule.map((ms) => `${ms / 1000}s`).join(',') } : {}),
  };
  const child: Spawned = await spawnForcehook(['serve'], env);
  const url = child.ready.url as string;
  await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 60_000, 'instance ready', 100);
  return {
    url,
    api: httpApi(() => url),
    stop: async () => void (await child.kill('SIGTERM')),
    kill9: async () => void (await child.kill('SIGKILL')),
    alive: () => child.child.exitCode === null && child.child.signalCode === null,
  };
}
