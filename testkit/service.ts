/**
 * An end-to-end stack for integration tests: the Salesforce emulator, one or
 * more service instances on the shared test broker (isolated by topic prefix),
 * and a Kafka reader of the events topic. Everything is driven through public
 * surfaces: the service's HTTP API, the emulator's admin API, jsforce.
 */
import { emulatorAdmin, type OrgCredentials } from '../src/emulator/admin-client.js';
import { randomBytes } from 'node:crypto';
import jsforce from 'jsforce';
import { loadConfig } from '../src/config/load.js';
import { testLogger, type Logger } from '../src/core/log.js';
import type { RetryPolicy } from '../src/core/retry.js';
import { startService, type RunningService } from '../src/service/service.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/server.js';
import { API_TOKEN, httpApi, type Api } from './api.js';
import { readEvents as readEventsFrom, type EventsReader } from './events.js';
import { testBrokers } from './kafka/brokers.js';
import { kafkaClientFromEnv } from '../src/kafka/client-name.js';

export { API_TOKEN, httpApi, type Api } from './api.js';
export { expectedLeadEvents, type EventsReader, type ReceivedEvent } from './events.js';
export { waitUntil } from './wait.js';

export const SECRET_KEY = randomBytes(32).toString('base64');

export type { OrgCredentials };

export async function startTestEmulator(
  opts: { connectTimeoutMs?: number; pubsub?: { keepaliveMs?: number; staleAfterMs?: number } } = {},
): Promise<RunningEmulator> {
  return startEmulator({ logger: testLogger(), connectTimeoutMs: opts.connectTimeoutMs ?? 2_000, pubsub: opts.pubsub ?? true });
}

/** The CDC transports the end-to-end tests run on; `FORCEHOOK_CDC_TRANSPORT=cometd` alone narrows them. */
export const CDC_TRANSPORTS = ['cometd', 'pubsub'] as const;
export type CdcTransportName = (typeof CDC_TRANSPORTS)[number];

/** The service settings that follow the emulator's CDC through `transport`. */
export function transportEnv(emulator: RunningEmulator, transport: CdcTransportName): Record<string, string> {
  if (transport === 'cometd') return { FORCEHOOK_CDC_TRANSPORT: 'cometd' };
  if (!emulator.pubsub) throw new Error('the emulator serves no Pub/Sub API');
  return { FORCEHOOK_CDC_TRANSPORT: 'pubsub', FORCEHOOK_PUBSUB_ENDPOINT: emulator.pubsub.address, FORCEHOOK_PUBSUB_CA_FILE: emulator.pubsub.caFile };
}

export async function adminCall<T = unknown>(emulatorUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  return emulatorAdmin<T>(emulatorUrl, method, path, body);
}

export function createOrg(emulatorUrl: string, body: Record<string, unknown> = {}): Promise<OrgCredentials> {
  // A generous API limit: the polling budget would otherwise stretch intervals past a test's patience.
  return adminCall<OrgCredentials>(emulatorUrl, 'POST', '/__emulator/orgs', { apiDailyLimit: 10_000_000, ...body });
}

/** A jsforce connection acting as a user of the org (the "someone changes data in Salesforce" side). */
export function orgUser(org: OrgCredentials): jsforce.Connection {
  return new jsforce.Connection({
    oauth2: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret },
    instanceUrl: org.instanceUrl,
    refreshToken: org.refreshToken,
    version: '59.0',
  });
}

export interface TestService {
  service: RunningService;
  prefix: string;
  api: Api;
  stop(): Promise<void>;
}

export async function startTestService(opts: {
  prefix: string;
  logger?: Logger;
  pollIntervalS?: number;
  modeRefreshMs?: number;
  /** While objects are streamed, how often the CDC selection alone is checked (the service's default: 1 min). */
  selectionCheckMs?: number;
  /** How long an org whose streaming allocation is spent is polled before streaming is tried again. */
  streamingLimitRetry?: RetryPolicy;
  instanceId?: string;
  /** Delivery retry delays (ms); tests scale the hours down. */
  retrySchedule?: number[];
  /** @default true */
  allowPrivateNetworks?: boolean;
  /** FORCEHOOK_SALESFORCE_HOSTS; @default the emulator's host, 127.0.0.1 */
  salesforceHosts?: string[];
  /** @default both */
  roles?: ('source' | 'delivery')[];
  /** Owners group session timeout (scale-out); @default the config's 30000 */
  ownersSessionTimeoutMs?: number;
  /** Settings as a user gives them (`FORCEHOOK_*`, `KAFKA_SSL`, ...), parsed like the environment; the options above win. */
  env?: Record<string, string>;
  /** @default the run's test broker */
  brokers?: string[];
  /** FORCEHOOK_TOKEN_REFRESH_INTERVAL_S; @default the config's (daily) */
  tokenRefreshIntervalS?: number;
  /** Config `workflows`: names from config/workflows/ or module paths. */
  workflows?: string[];
}): Promise<TestService> {
  const config = loadConfig({
    env: opts.env ?? {},
    overrides: {
      kafka: {
        brokers: opts.brokers ?? testBrokers(),
        topicPrefix: opts.prefix,
        clientId: `forcehook-${opts.prefix}`,
        ...(opts.ownersSessionTimeoutMs ? { ownersSessionTimeoutMs: opts.ownersSessionTimeoutMs } : {}),
        // FORCEHOOK_KAFKA_CLIENT in the test run's environment picks the client library of every test instance
        // (spawned ones inherit the environment), so the e2e suites can be run once per client.
        client: kafkaClientFromEnv(),
      },
      http: { port: 0 },
      apiToken: API_TOKEN,
      secretKey: SECRET_KEY,
      allowPrivateNetworks: opts.allowPrivateNetworks ?? true,
      salesforceHosts: opts.salesforceHosts ?? ['127.0.0.1'],
      ...(opts.retrySchedule ? { retrySchedule: opts.retrySchedule } : {}),
      ...(opts.roles ? { roles: opts.roles } : {}),
      ...(opts.tokenRefreshIntervalS ? { tokenRefreshIntervalS: opts.tokenRefreshIntervalS } : {}),
      ...(opts.workflows ? { workflows: opts.workflows } : {}),
      pollIntervalS: opts.pollIntervalS ?? 1,
      logLevel: 'silent',
    },
  });
  const service = await startService({
    config,
    logger: opts.logger ?? testLogger(),
    ...(opts.instanceId ? { instanceId: opts.instanceId } : {}),
    ...(opts.modeRefreshMs ? { modeRefreshMs: opts.modeRefreshMs } : {}),
    ...(opts.selectionCheckMs ? { selectionCheckMs: opts.selectionCheckMs } : {}),
    ...(opts.streamingLimitRetry ? { streamingLimitRetry: opts.streamingLimitRetry } : {}),
  });
  await service.loaded;
  return {
    service,
    prefix: opts.prefix,
    api: httpApi(service.url),
    stop: () => service.stop(),
  };
}

/** Reads `<prefix>.events` on the run's test broker from the beginning. */
export function readEvents(prefix: string): Promise<EventsReader> {
  return readEventsFrom(prefix, testBrokers());
}
