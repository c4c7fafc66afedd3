/**
 * What every chaos scenario shares: an emulator, service instances (in-process or as child processes),
 * a webhook receiver verifying Standard Webhooks, a reader of `<prefix>.events`, and the accounting of
 * every change the emulator committed (its own change log) against what reached Kafka and the receiver.
 * No vitest import here: the runner runs under plain tsx, the npm-test subset under vitest.
 */
import { randomBytes } from 'node:crypto';
import { emulatorAdmin, type OrgCredentials } from '../src/emulator/admin-client.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { loadConfig } from '../src/config/load.js';
import { testLogger } from '../src/core/log.js';
import type { RetryPolicy } from '../src/core/retry.js';
import type { RunningEmulator } from '../src/emulator/server.js';
import { createKafka, topicSpecs, topics } from '../src/kafka/index.js';
import { fromKafkaMessage } from '../src/publish/message.js';
import { startService, type RunningService } from '../src/service/service.js';
import { spawnForcehook, type Spawned } from '../test/support/process.js';
import { Ledger } from './ledger.js';

export const API_TOKEN = 'chaos-api-token-0123456789';
export const SECRET_KEY = randomBytes(32).toString('base64');

export interface Ctx {
  brokers: string[];
  emulator: RunningEmulator;
  quick: boolean;
  log(msg: string): void;
}

export interface Counts {
  changes: number;
  published: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** No duplicate under another id than its first copy's, and no id shared by two changes. */
  duplicatesWithSameId: boolean;
  duplicatesSameId?: number;
  duplicatesOtherId?: number;
}

export interface ScenarioResult extends Counts {
  ok: boolean;
  ms?: number;
  notes?: string[];
  [k: string]: unknown;
}

export interface Scenario {
  name: string;
  /** Part of the quick subset (CHAOS_QUICK=1 and npm test). */
  quick: boolean;
  /** Bound on one run (default: the runner's). */
  timeoutMs?: number;
  run(ctx: Ctx): Promise<ScenarioResult>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function prefixFor(name: string): string {
  return `chaos-${name.replace(/[^a-zA-Z0-9._-]+/g, '-')}-${randomBytes(4).toString('hex')}`;
}

export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Like waitUntil, but a timeout is not an error: the counts will say what is missing. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
  return true;
}

export type Api = <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: T; text: string }>;

export function httpApi(url: () => string): Api {
  return async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url()}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, text };
  };
}

export async function adminCall<T = unknown>(ctx: Ctx, method: string, path: string, body?: unknown): Promise<T> {
  return emulatorAdmin<T>(ctx.emulator.url, method, path, body);
}

export type { OrgCredentials };

export function createOrg(ctx: Ctx, options: Record<string, unknown> = {}): Promise<OrgCredentials> {
  // Long runs deliver more than an edition's default event allocation; scenarios about that limit set their own.
  return adminCall<OrgCredentials>(ctx, 'POST', '/__emulator/orgs', { apiDailyLimit: 10_000_000, eventDeliveryDailyLimit: 100_000_000, ...options });
}

/** A fresh refresh token through the web-server flow, as a person re-approving the app would get one. */
export async function freshRefreshToken(org: OrgCredentials): Promise<string> {
  const redirectUri = 'https://chaos.example/callback';
  const form = new URLSearchParams({ response_type: 'code', client_id: org.clientId, redirect_uri: redirectUri, username: org.username, password: org.password, action: 'allow' });
  const approved = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
  const code = new URL(approved.headers.get('location') ?? 'x:').searchParams.get('code');
  if (!code) throw new Error(`no authorization code (status ${approved.status})`);
  const tok = await fetch(new URL('/services/oauth2/token', org.loginUrl), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: org.clientId, client_secret: org.clientSecret, redirect_uri: redirectUri }),
  });
  const j = (await tok.json()) as { refresh_token?: string };
  if (!j.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(j)}`);
  return j.refresh_token;
}

// ---------------------------------------------------------------- service instances

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
}

export async function inProcessInstance(ctx: Ctx, o: InstanceOpts): Promise<Instance> {
  const config = loadConfig({
    env: {},
    overrides: {
      kafka: { brokers: o.brokers ?? ctx.brokers, topicPrefix: o.prefix, clientId: `forcehook-${o.prefix}` },
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
  const service = await startService({ config, logger: testLogger(), ...(o.instanceId ? { instanceId: o.instanceId } : {}), ...(o.streamingLimitRetry ? { streamingLimitRetry: o.streamingLimitRetry } : {}) });
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
    ...(o.retrySchedule ? { FORCEHOOK_RETRY_SCHEDULE: o.retrySchedule.map((ms) => `${ms / 1000}s`).join(',') } : {}),
  };
  const child: Spawned = await spawnForcehook(['serve'], env);
  const url = child.ready.url as string;
  await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, 60_000, 'instance ready');
  return {
    url,
    api: httpApi(() => url),
    stop: async () => void (await child.kill('SIGTERM')),
    kill9: async () => void (await child.kill('SIGKILL')),
    alive: () => child.child.exitCode === null && child.child.signalCode === null,
  };
}

// ---------------------------------------------------------------- webhook receiver

export interface Delivery {
  webhookId: string;
  /** What the change is, independent of its id: type, subject, commitTimestamp. */
  content: string;
  /** The record's values the event carried (data.record). */
  record?: Record<string, unknown>;
}

export interface Receiver {
  url: string;
  secrets: string[];
  deliveries: Delivery[];
  invalid: string[];
  /** Answer this status instead of 2xx while set. */
  down: boolean;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    secrets: [],
    deliveries: [],
    invalid: [],
    down: false,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (r.down) {
        res.writeHead(503);
        res.end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const verified = r.secrets.some((s) => {
        try {
          new Webhook(s).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      if (!verified) {
        r.invalid.push(`unverified ${headers['webhook-id'] ?? '?'}`);
        res.writeHead(401);
        res.end();
        return;
      }
      try {
        const ev = JSON.parse(body) as { id: string; type: string; subject: string; data: { commitTimestamp: number; record?: Record<string, unknown> } };
        if (ev.id !== headers['webhook-id']) r.invalid.push(`webhook-id ${headers['webhook-id']} != event id ${ev.id}`);
        r.deliveries.push({ webhookId: headers['webhook-id']!, content: `${ev.type} ${ev.subject} ${ev.data.commitTimestamp}`, ...(ev.data.record ? { record: ev.data.record } : {}) });
      } catch (err) {
        r.invalid.push((err as Error).message);
      }
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

// ---------------------------------------------------------------- Kafka reader

export interface Published {
  id: string;
  /** What the change is, independent of its id: type, subject, commitTimestamp. */
  content: string;
  detectedBy: string;
  /** The record's values the event carried (data.record). */
  record?: Record<string, unknown>;
}

export async function readEvents(brokers: string[], prefix: string): Promise<{ events: Published[]; stop(): Promise<void> }> {
  const client = createKafka({ brokers, clientId: `chaos-reader-${prefix}`, logger: testLogger() });
  const consumer = client.consumer(`${prefix}.chaos-reader`, { maxWaitTimeMs: 100 });
  const events: Published[] = [];
  await client.admin().ensureTopics(topicSpecs(topics(prefix), [1_000]));
  await consumer.subscribe([`${prefix}.events`], { fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const m of batch.messages) {
        const ce = fromKafkaMessage(m);
        const d = ce.data as { commitTimestamp: number; detectedBy: string; record?: Record<string, unknown> };
        events.push({ id: ce.id, content: `${ce.type} ${ce.subject} ${d.commitTimestamp}`, detectedBy: d.detectedBy, ...(d.record ? { record: d.record } : {}) });
      }
    },
  });
  return {
    events,
    async stop() {
      await consumer.stop();
      await client.close();
    },
  };
}

// ---------------------------------------------------------------- the org under test

export const TRIGGERS = ['record.created', 'record.updated', 'record.deleted', 'record.undeleted'];

/** Connects the org and subscribes the receiver to every change of `objects`; returns the connection and subscription ids. */
export async function connectOrg(api: Api, org: OrgCredentials, receiver: Receiver, objects: string[], running?: (connectionId: string) => boolean): Promise<{ connectionId: string; subscriptionIds: string[] }> {
  const c = await api<{ id: string }>('POST', '/v1/connections', { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret, refreshToken: org.refreshToken });
  if (c.status !== 201) throw new Error(`connect: ${c.status} ${c.text}`);
  const subscriptionIds: string[] = [];
  for (const object of objects) {
    for (const trigger of TRIGGERS) {
      const s = await api<{ id: string; secret: string }>('POST', '/v1/subscriptions', { connectionId: c.body.id, trigger, object, destination: { type: 'webhook', url: receiver.url } });
      if (s.status !== 201) throw new Error(`subscribe: ${s.status} ${s.text}`);
      receiver.secrets.push(s.body.secret);
      subscriptionIds.push(s.body.id);
    }
  }
  await waitUntil(async () => (running ? running(c.body.id) : (await api<{ subscriber: string }>('GET', `/v1/connections/${c.body.id}`).catch(() => undefined))?.body?.subscriber === 'running'), 30_000, 'subscriber running');
  return { connectionId: c.body.id, subscriptionIds };
}

export { Ledger, type LatestStateWindow, type LedgerCounts } from './ledger.js';

export interface Expectations {
  /**
   * The scenario moves a followed object between streaming and polling or reconcile, where the service cannot
   * always prove a row is a change it streamed: the same change may then reach consumers under two ids
   * (a duplicate, never a loss). Without it, every duplicate must carry its first copy's id.
   */
  duplicatesUnderAnotherId?: boolean;
}

export function verdict(c: Counts & { invalid?: number; missing?: string[]; idCollisions?: number }, extra: Record<string, unknown> = {}, expect: Expectations = {}): ScenarioResult {
  const allowed = expect.duplicatesUnderAnotherId === true;
  return {
    ...c,
    ...(c.missing ? { missing: c.missing.slice(0, 20) } : {}),
    duplicatesUnderAnotherIdAllowed: allowed,
    ok: c.lost === 0 && (c.duplicatesWithSameId || (allowed && (c.idCollisions ?? 0) === 0)) && c.changes > 0 && (c.invalid ?? 0) === 0,
    ...extra,
  };
}

/** Runs activity on the org: `perSecond` random DML on `objects` for `seconds`. */
export async function activity(ctx: Ctx, orgId: string, perSecond: number, objects: string[], seconds: number): Promise<void> {
  await adminCall(ctx, 'POST', `/__emulator/orgs/${orgId}/activity`, { perSecond, objects, seconds });
}

export async function fault(ctx: Ctx, orgId: string, body: Record<string, unknown>): Promise<unknown> {
  return adminCall(ctx, 'POST', `/__emulator/orgs/${orgId}/faults`, body);
}

/**
 * Waits until a streaming client of the service is subscribed to the org (the emulator's bus has a listener).
 * A first follow starts at -1, new events only, and the subscriber state `running` comes as soon as the
 * subscribe is sent: a change committed before the server took the subscribe is not one the service
 * promises (it would be an older row). Call before the first activity, and before the Ledger listens.
 */
export async function streamingLive(ctx: Ctx, orgId: string): Promise<void> {
  await waitUntil(() => (ctx.emulator.emulator.org(orgId)?.bus.listenerCount() ?? 0) > 0, 30_000, `a streaming subscription to org ${orgId}`);
}

/** The usual set-up: an org, a receiver subscribed to its changes through `api`, a reader of the events topic. */
export async function steadyOrg(ctx: Ctx, brokers: string[], prefix: string, api: Api, objects = ['Lead'], orgOptions: Record<string, unknown> = {}) {
  const org = await createOrg(ctx, orgOptions);
  const receiver = await startReceiver();
  const reader = await readEvents(brokers, prefix);
  const conn = await connectOrg(api, org, receiver, objects);
  await streamingLive(ctx, org.orgId);
  const ledger = new Ledger(ctx, [org.orgId], objects);
  return {
    org,
    receiver,
    reader,
    ledger,
    ...conn,
    async close() {
      ledger.close();
      await reader.stop().catch(() => undefined);
      await receiver.close().catch(() => undefined);
      await adminCall(ctx, 'DELETE', `/__emulator/orgs/${org.orgId}`).catch(() => undefined);
    },
  };
}
