/**
 * Shared pieces of the benchmarks: the context run.ts hands to every bench, the
 * emulator in a child process of its own (so that it does not share an event loop
 * with the service being measured), a service instance, a Kafka reader and a few
 * statistics helpers. Everything goes through public surfaces: the emulator's admin
 * API, the service's HTTP API, Kafka.
 */
import { emulatorAdmin, type OrgCredentials } from '../src/emulator/admin-client.js';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { createLogger, type Logger } from '../src/core/log.js';
import { createKafka, kafkaSecurityFromEnv, topicSpecs, topics, type KafkaClientName } from '../src/kafka/index.js';
import type { KafkaClient } from '../src/kafka/types.js';
import { startService, type RunningService } from '../src/service/service.js';
import { httpApi, type Api } from '../testkit/api.js';
import { waitUntil } from '../testkit/wait.js';

export interface BenchContext {
  /** Bootstrap servers of the one broker all benches share. */
  brokers: string[];
  /** BENCH_QUICK=1: smaller sizes, shorter windows. */
  quick: boolean;
  /** A human-readable progress line (stderr-free: stdout, before the final JSON line). */
  log(line: string): void;
  logger: Logger;
  /** How the service follows CDC in this run of a transport-aware bench. @default cometd */
  transport?: 'cometd' | 'pubsub';
  /** The Kafka client library of the instances this run measures (BENCH_KAFKA_CLIENTS runs each bench once per client). */
  kafkaClient: KafkaClientName;
}

export type Figures = Record<string, unknown>;

export interface Bench {
  name: string;
  /** Runs once per CDC transport (BENCH_TRANSPORTS); the Pub/Sub run's figures are under `<name>:pubsub`. */
  perTransport?: boolean;
  run(ctx: BenchContext): Promise<Figures>;
}

export const API_TOKEN = 'bench-api-token-0123456789';
export const SECRET_KEY = randomBytes(32).toString('base64');

/**
 * The in-process service's logger. Its warnings and errors are counted by message
 * (printed as a summary after each bench and kept in the JSON) instead of flooding
 * the output; LOG_LEVEL=warn LOG_RAW=1 prints them as they come.
 */
export const logCounts = new Map<string, number>();
export function benchLogger(): Logger {
  const level = process.env.LOG_LEVEL ?? 'warn';
  if (process.env.LOG_RAW === '1') return createLogger({ name: 'bench', level });
  return createLogger({
    name: 'bench',
    level,
    destination: {
      write(line: string) {
        try {
          const j = JSON.parse(line) as { level: number; msg?: string; error?: string; err?: { message?: string } };
          const key = `${j.level >= 50 ? 'error' : 'warn'}: ${j.msg ?? ''}${j.error ? ` (${j.error})` : j.err?.message ? ` (${j.err.message})` : ''}`.slice(
            0,
            200,
          );
          logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
        } catch {
          logCounts.set(line.slice(0, 200), (logCounts.get(line.slice(0, 200)) ?? 0) + 1);
        }
      },
    },
  });
}

/** Log lines counted since the last call, most frequent first. */
export function takeLogCounts(): Record<string, number> {
  const out = Object.fromEntries([...logCounts].sort((a, b) => b[1] - a[1]).slice(0, 10));
  logCounts.clear();
  return out;
}

/**
 * Creates `<prefix>.events` before the service does, with `partitions` partitions
 * (BENCH_EVENTS_PARTITIONS, default 4): the local broker's default is 1, on which the
 * publisher's 2,000-message batches exceed the broker's message.max.bytes (see README).
 */
export async function createEventsTopic(ctx: BenchContext, prefix: string): Promise<number> {
  const partitions = Number(process.env.BENCH_EVENTS_PARTITIONS ?? 4);
  const client: KafkaClient = createKafka({ brokers: ctx.brokers, clientId: `bench-admin-${prefix}`, logger: ctx.logger, ...kafkaSecurityFromEnv() });
  try {
    const t = topics(prefix);
    await client.admin().ensureTopics(topicSpecs(t, [], partitions).filter((s) => s.topic === t.events));
  } finally {
    await client.close();
  }
  return partitions;
}

export function uniquePrefix(name: string): string {
  return `bench-${name}-${randomBytes(4).toString('hex')}`;
}

export { sleep, waitUntil } from '../testkit/wait.js';

// ---------------------------------------------------------------- statistics

/** Nearest-rank quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number | null {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function round(n: number | null | undefined, digits = 1): number | null {
  if (n === null || n === undefined || !Number.isFinite(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

// ---------------------------------------------------------------- emulator child

export interface EmulatorProcess {
  url: string;
  /** The emulator's Pub/Sub API: `host:port` and the PEM file of its CA. */
  pubsub?: { address: string; caFile: string };
  pid: number;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** process.memoryUsage() of the emulator process, after an optional GC. */
  memory(gc?: boolean): Promise<NodeJS.MemoryUsage>;
  /** CPU time (user+system, µs) the emulator process used so far. */
  cpu(): Promise<NodeJS.CpuUsage>;
  close(): Promise<void>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Forks a Node child running a bench/support module through tsx, with an IPC channel. */
export function forkTs(module: string, args: string[] = [], execArgv: string[] = []): ChildProcess {
  return fork(`${HERE}support/${module}`, args, {
    execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
  });
}

/** One request/answer over a child's IPC channel. */
export function ipcCall<T>(child: ChildProcess, msg: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
  const id = randomBytes(6).toString('hex');
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`child ${child.pid}: no answer to ${String(msg.op)} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: { id?: string; result?: T; error?: string }) => {
      if (m.id !== id) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (m.error) reject(new Error(m.error));
      else resolve(m.result as T);
    };
    child.on('message', onMessage);
    child.send({ ...msg, id });
  });
}

export function waitForMessage<T>(child: ChildProcess, pred: (m: unknown) => boolean, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child ${child.pid}: no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: unknown) => {
      if (!pred(m)) return;
      cleanup();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child ${child.pid} exited (${code}) before ${what}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The emulator (startEmulator({port: 0})) in a process of its own. */
export async function startEmulatorProcess(opts: { connectTimeoutMs?: number; cpuProf?: string } = {}): Promise<EmulatorProcess> {
  const execArgv = opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : [];
  const child = forkTs('emulator-child.ts', opts.connectTimeoutMs ? [String(opts.connectTimeoutMs)] : [], execArgv);
  const ready = await waitForMessage<{ event: string; url: string; pubsub?: { address: string; caFile: string } }>(
    child,
    (m) => (m as { event?: string }).event === 'ready',
    60_000,
    'emulator ready',
  );
  const url = ready.url;
  return {
    url,
    ...(ready.pubsub ? { pubsub: ready.pubsub } : {}),
    pid: child.pid!,
    admin: (method, path, body) => adminCall(url, method, path, body),
    memory: (gc = false) => ipcCall<NodeJS.MemoryUsage>(child, { op: 'memory', gc }),
    cpu: () => ipcCall<NodeJS.CpuUsage>(child, { op: 'cpu' }),
    close: () => stopChild(child),
  };
}

export async function adminCall<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  return emulatorAdmin<T>(baseUrl, method, path, body);
}

export type { OrgCredentials };

/**
 * Generous limits unless told otherwise: the polling budget would stretch intervals, and a throughput
 * run delivers more events than an edition's default allocation (as an org with the add-on would).
 */
export function createOrg(em: EmulatorProcess, body: Record<string, unknown> = {}): Promise<OrgCredentials> {
  return em.admin<OrgCredentials>('POST', '/__emulator/orgs', { apiDailyLimit: 10_000_000, eventDeliveryDailyLimit: 100_000_000, ...body });
}

// ---------------------------------------------------------------- service

export interface BenchService {
  service: RunningService;
  prefix: string;
  api: Api;
  /** Connects the org and subscribes `record.created/updated/deleted` on each object. */
  follow(org: OrgCredentials, objects: readonly string[]): Promise<string>;
  /** Waits until every given connection's subscriber runs with all its objects in `mode`. */
  waitFollowing(connectionIds: readonly string[], objects: number, mode: 'cdc' | 'polling', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchService(
  ctx: BenchContext,
  opts: { prefix: string; pollIntervalS?: number; hookUrl?: string; roles?: ('source' | 'delivery')[]; emulator?: EmulatorProcess },
): Promise<BenchService> {
  const pubsub = ctx.transport === 'pubsub' ? opts.emulator?.pubsub : undefined;
  if (ctx.transport === 'pubsub' && !pubsub) throw new Error('a Pub/Sub run needs the emulator that serves it');
  const config = loadConfig({
    env: pubsub ? { FORCEHOOK_CDC_TRANSPORT: 'pubsub', FORCEHOOK_PUBSUB_ENDPOINT: pubsub.address, FORCEHOOK_PUBSUB_CA_FILE: pubsub.caFile } : {},
    overrides: {
      kafka: { brokers: ctx.brokers, topicPrefix: opts.prefix, clientId: `forcehook-${opts.prefix}`, client: ctx.kafkaClient, ...kafkaSecurityFromEnv() },
      http: { port: 0 },
      apiToken: API_TOKEN,
      secretKey: SECRET_KEY,
      allowPrivateNetworks: true,
      // The emulator answers on loopback over http.
      salesforceHosts: ['127.0.0.1'],
      pollIntervalS: opts.pollIntervalS ?? 30,
      logLevel: 'silent',
      ...(opts.roles ? { roles: opts.roles } : {}),
    },
  });
  const service = await startService({ config, logger: ctx.logger });
  await service.loaded;
  const api = httpApi(service.url, API_TOKEN);
  return {
    service,
    prefix: opts.prefix,
    api,
    async follow(org, objects) {
      const created = await api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      if (created.status !== 201) throw new Error(`POST /v1/connections: ${created.status} ${JSON.stringify(created.body)}`);
      for (const object of objects) {
        for (const trigger of ['record.created', 'record.updated', 'record.deleted']) {
          const r = await api('POST', '/v1/subscriptions', {
            connectionId: created.body.id,
            trigger,
            object,
            destination: { type: 'webhook', url: opts.hookUrl ?? 'http://127.0.0.1:9/hook' },
          });
          if (r.status !== 201) throw new Error(`POST /v1/subscriptions: ${r.status} ${JSON.stringify(r.body)}`);
        }
      }
      return created.body.id;
    },
    async waitFollowing(ids, objects, mode, timeoutMs = 60_000) {
      const pending = new Set(ids);
      await waitUntil(
        async () => {
          for (const id of [...pending]) {
            const r = await api<{ subscriber: string; objects: { mode: string }[] }>('GET', `/v1/connections/${id}`);
            if (r.body.subscriber === 'running' && r.body.objects.length === objects && r.body.objects.every((o) => o.mode === mode)) pending.delete(id);
          }
          return pending.size === 0;
        },
        timeoutMs,
        `${ids.length} connection(s) following ${objects} object(s) by ${mode}`,
        250,
      );
    },
    stop: () => service.stop(),
  };
}

// ---------------------------------------------------------------- Kafka reader

/** [Kafka timestamp (CreateTime), commitTimestamp, reader receive time], ms since the epoch. */
export type Stamp = [number, number, number];

export interface RawBaseline {
  messages: number;
  avgMessageBytes: number;
  requests: number;
  ms: number;
  eventsPerS: number;
  cpuCores: number;
}

/** kcat producing the same messages (bench/support/reader-child.ts kcatBaseline), or why not. */
export type KcatBaseline =
  | { skipped: string }
  | {
      messages: number;
      avgMessageBytes: number;
      ms: number;
      startupMs: number;
      eventsPerS: number;
      eventsPerSWithStartup: number;
      cpuCores: number | null;
      runsMs: number[];
      verifiedOnTopic: number;
      config: string[];
      headersPerMessage: number;
      kcat: string;
      stderr?: string;
    };

/** Commit → webhook receipt of the events on Kafka with a commit in a window (ascending latencies, ms). */
export interface Receipts {
  expected: number;
  missing: number;
  mismatched: number;
  unreadableBodies: number;
  lat: number[];
}

export interface EventsReader {
  /** Where subscriptions should deliver: a receiver in the reader's process answering 204. */
  hookUrl: string;
  webhooks(): Promise<number>;
  count(): Promise<number>;
  stamps(from?: number, to?: number): Promise<Stamp[]>;
  /** Sends messages [from, to) again through a bare producer of the client library (kafkajs unless given), to a fresh topic. */
  rawBaseline(opts: {
    from: number;
    to: number;
    partitions: number;
    maxBatch: number;
    maxBytes: number;
    client?: KafkaClientName | 'confluent';
  }): Promise<RawBaseline>;
  /** Sends messages [from, to) again through kcat (librdkafka), to a fresh topic; `skipped` when kcat is not installed. */
  kcatBaseline(opts: { from: number; to: number; partitions: number }): Promise<KcatBaseline>;
  /** Webhooks received for the Kafka events with commitTimestamp in [commitFrom, commitTo). */
  receipts(commitFrom: number, commitTo: number): Promise<Receipts>;
  stop(): Promise<void>;
}

/**
 * Reads `<prefix>.events` from the beginning in a child process (bench/support/reader-child.ts),
 * which also receives the benches' webhooks: neither costs the measured instance CPU.
 */
export async function readTopic(ctx: BenchContext, prefix: string): Promise<EventsReader> {
  const child = forkTs('reader-child.ts', [ctx.brokers.join(','), prefix]);
  const ready = await waitForMessage<{ hookUrl: string }>(child, (m) => (m as { event?: string }).event === 'ready', 60_000, 'reader ready');
  return {
    hookUrl: ready.hookUrl,
    webhooks: () => ipcCall<number>(child, { op: 'webhooks' }),
    count: () => ipcCall<number>(child, { op: 'count' }),
    stamps: (from, to) => ipcCall<Stamp[]>(child, { op: 'stamps', from, to }),
    rawBaseline: (o) => ipcCall<RawBaseline>(child, { op: 'raw', ...o }, 300_000),
    kcatBaseline: (o) => ipcCall<KcatBaseline>(child, { op: 'kcat', ...o }, 300_000),
    receipts: (commitFrom, commitTo) => ipcCall<Receipts>(child, { op: 'receipts', commitFrom, commitTo }),
    stop: () => stopChild(child),
  };
}
