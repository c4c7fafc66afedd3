/**
 * An end-to-end stack for integration tests: the Salesforce emulator, one or
 * more service instances on the shared test broker (isolated by topic prefix),
 * and a Kafka reader of the events topic. Everything is driven through public
 * surfaces: the service's HTTP API, the emulator's admin API, jsforce.
 */
import { emulatorAdmin, type OrgCredentials } from '../../src/emulator/admin-client.js';
import { randomBytes } from 'node:crypto';
import jsforce from 'jsforce';
import { loadConfig } from '../../src/config/load.js';
import { testLogger, type Logger } from '../../src/core/log.js';
import type { RetryPolicy } from '../../src/core/retry.js';
import { createKafka, topicSpecs, topics } from '../../src/kafka/index.js';
import type { ConsumedMessage, KafkaClient } from '../../src/kafka/types.js';
import { fromKafkaMessage } from '../../src/publish/message.js';
import { cdcEventId } from '../../src/events/id.js';
import type { EventType } from '../../src/events/schema.js';
import { startService, type RunningService } from '../../src/service/service.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { testBrokers, uniquePrefix } from './kafka.js';

export const API_TOKEN = 'test-api-token-0123456789';
export const SECRET_KEY = randomBytes(32).toString('base64');

export type { OrgCredentials };

export async function startTestEmulator(opts: { connectTimeoutMs?: number } = {}): Promise<RunningEmulator> {
  return startEmulator({ logger: testLogger(), connectTimeoutMs: opts.connectTimeoutMs ?? 2_000 });
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
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startTestService(opts: {
  prefix: string;
  logger?: Logger;
  pollIntervalS?: number;
  modeRefreshMs?: number;
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
}): Promise<TestService> {
  const config = loadConfig({
    env: opts.env ?? {},
    overrides: {
      kafka: {
        brokers: opts.brokers ?? testBrokers(),
        topicPrefix: opts.prefix,
        clientId: `forcehook-${opts.prefix}`,
        ...(opts.ownersSessionTimeoutMs ? { ownersSessionTimeoutMs: opts.ownersSessionTimeoutMs } : {}),
      },
      http: { port: 0 },
      apiToken: API_TOKEN,
      secretKey: SECRET_KEY,
      allowPrivateNetworks: opts.allowPrivateNetworks ?? true,
      salesforceHosts: opts.salesforceHosts ?? ['127.0.0.1'],
      ...(opts.retrySchedule ? { retrySchedule: opts.retrySchedule } : {}),
      ...(opts.roles ? { roles: opts.roles } : {}),
      ...(opts.tokenRefreshIntervalS ? { tokenRefreshIntervalS: opts.tokenRefreshIntervalS } : {}),
      pollIntervalS: opts.pollIntervalS ?? 1,
      logLevel: 'silent',
    },
  });
  const service = await startService({
    config,
    logger: opts.logger ?? testLogger(),
    ...(opts.instanceId ? { instanceId: opts.instanceId } : {}),
    ...(opts.modeRefreshMs ? { modeRefreshMs: opts.modeRefreshMs } : {}),
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

/** The service's `/v1` API at `url` (an in-process instance or a spawned `forcehook serve`), with the test token. */
export function httpApi(url: string): TestService['api'] {
  return async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
}

const TYPE_OF: Record<string, EventType> = { CREATE: 'salesforce.record.created', UPDATE: 'salesforce.record.updated', DELETE: 'salesforce.record.deleted', UNDELETE: 'salesforce.record.undeleted' };

/** The events the contract promises (id → "type recordId") for every Lead change the emulator committed to `org`. */
export function expectedLeadEvents(emulator: RunningEmulator, org: OrgCredentials): Map<string, string> {
  const out = new Map<string, string>();
  for (const ev of emulator.emulator.org(org.orgId)!.bus.eventsAfter(0)) {
    const h = (ev.payload as { ChangeEventHeader: { entityName: string; recordIds: string[]; changeType: string; commitTimestamp: number; transactionKey?: string; sequenceNumber?: number } }).ChangeEventHeader;
    if (h.entityName !== 'Lead' || !TYPE_OF[h.changeType]) continue;
    for (const recordId of h.recordIds) {
      const type = TYPE_OF[h.changeType]!;
      const { commitTimestamp, transactionKey, sequenceNumber } = h;
      out.set(cdcEventId({ orgId: org.orgId, recordId, type, commitTimestamp, transactionKey, sequenceNumber, replayId: String(ev.replayId) }), `${type} ${recordId}`);
    }
  }
  return out;
}

export interface ReceivedEvent {
  id: string;
  type: string;
  subject: string;
  source: string;
  time: string;
  key: string | null;
  data: {
    orgId: string;
    connectionId: string;
    object: string;
    recordId: string;
    changeType: string;
    changedFields: string[];
    record: Record<string, unknown>;
    detectedBy: string;
    commitTimestamp: number;
    campaignId?: string;
    leadId?: string;
    contactId?: string;
    opportunityId?: string;
    [k: string]: unknown;
  };
}

/** Reads `<prefix>.events` from the beginning, parsing each message with the cloudevents SDK. */
export async function readEvents(prefix: string): Promise<{ events: ReceivedEvent[]; raw: ConsumedMessage[]; waitFor(pred: (e: ReceivedEvent[]) => boolean, timeoutMs?: number, what?: string): Promise<void>; stop(): Promise<void> }> {
  const client: KafkaClient = createKafka({ brokers: testBrokers(), clientId: `reader-${prefix}`, logger: testLogger() });
  const consumer = client.consumer(uniquePrefix('reader'), { maxWaitTimeMs: 100 });
  const events: ReceivedEvent[] = [];
  const raw: ConsumedMessage[] = [];
  // The reader may start before the service created its topics: create them the same way.
  const admin = client.admin();
  await admin.ensureTopics(topicSpecs(topics(prefix), [5_000]));
  await consumer.subscribe([`${prefix}.events`], { fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const m of batch.messages) {
        raw.push(m);
        const ce = fromKafkaMessage(m);
        events.push({ id: ce.id, type: ce.type, subject: ce.subject!, source: ce.source, time: ce.time!, key: m.key, data: ce.data as ReceivedEvent['data'] });
      }
    },
  });
  return {
    events,
    raw,
    async waitFor(pred, timeoutMs = 30_000, what = 'events') {
      const deadline = Date.now() + timeoutMs;
      while (!pred(events)) {
        if (Date.now() > deadline) {
          throw new Error(`timed out waiting for ${what}; got ${events.length}: ${events.map((e) => `${e.type}/${e.data.object}/${e.data.detectedBy}`).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await consumer.stop();
      await client.close();
    },
  };
}

export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
