/**
 * The benches' Kafka side, in a process of its own so that it does not take CPU
 * from the service instance being measured: reads `<prefix>.events` from the
 * beginning and answers, over IPC, how many messages arrived and their (Kafka
 * timestamp, commitTimestamp) pairs; and runs the raw kafkajs producer baseline
 * with the very messages it read, and the same messages through `kcat` (librdkafka,
 * the broker's limit on this machine). It is also where the benches' webhooks go: a
 * receiver answering 204 at once, counting them and keeping, per event id, the
 * receipt time and the body's `data.commitTimestamp` (the emulator's commit).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createLogger } from '../../src/core/log.js';
import { createKafka, kafkaSecurityFromEnv, topicSpecs, topics, type KafkaSecurity } from '../../src/kafka/index.js';
import { kafkajsSecurity } from '../../src/kafka/kafkajs/client.js';
import { platformaticBaseOptions } from '../../src/kafka/platformatic/client.js';
import { PLATFORMATIC_PRODUCE_OPTIONS } from '../../src/kafka/platformatic/producer.js';
import { Producer as PltProducer } from '@platformatic/kafka';
import type { ConsumedMessage } from '../../src/kafka/types.js';

const [brokersArg, prefix] = process.argv.slice(2) as [string, string];
const brokers = brokersArg.split(',');
const logger = createLogger({ name: 'bench-reader', level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'fatal' });
const client = createKafka({ brokers, clientId: `reader-${prefix}`, logger, ...kafkaSecurityFromEnv() });
await client.admin().ensureTopics(topicSpecs(topics(prefix), [5_000]).filter((s) => s.topic === topics(prefix).events));
const consumer = client.consumer(`bench-reader-${prefix}`, { maxWaitTimeMs: 100 });
const messages: ConsumedMessage[] = [];
const stamps: [number, number, number][] = [];
/** Event id (ce_id header) → commitTimestamp, as published to Kafka: what webhook receipts are checked against. */
const kafkaCommitById = new Map<string, number>();
await consumer.subscribe([`${prefix}.events`], { fromBeginning: true });
await consumer.run({
  eachBatch: async (batch) => {
    const now = Date.now();
    for (const m of batch.messages) {
      messages.push(m);
      const commit = (JSON.parse(m.value!.toString('utf8')) as { commitTimestamp: number }).commitTimestamp;
      stamps.push([Number(m.timestamp), commit, now]);
      const id = m.headers.ce_id;
      if (id !== undefined) kafkaCommitById.set(id, commit);
    }
  },
});

let webhooks = 0;
/** First receipt per event id: [receipt time, the body's data.commitTimestamp], ms since the epoch. */
const receipts = new Map<string, [number, number]>();
let unreadableBodies = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    webhooks++;
    res.writeHead(204).end();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string; data?: { commitTimestamp?: number } };
      if (typeof body.id === 'string' && typeof body.data?.commitTimestamp === 'number') {
        if (!receipts.has(body.id)) receipts.set(body.id, [at, body.data.commitTimestamp]);
      } else unreadableBodies++;
    } catch {
      unreadableBodies++;
    }
  });
});

/**
 * Commit → webhook receipt for the events published to Kafka with a commit in
 * [commitFrom, commitTo): every such event is expected once at the receiver; a
 * receipt counts only when its body's commitTimestamp equals the one on Kafka.
 */
function receiptFigures(commitFrom: number, commitTo: number) {
  let expected = 0;
  let missing = 0;
  let mismatched = 0;
  const lat: number[] = [];
  for (const [id, commit] of kafkaCommitById) {
    if (commit < commitFrom || commit >= commitTo) continue;
    expected++;
    const r = receipts.get(id);
    if (!r) missing++;
    else if (r[1] !== commit) mismatched++;
    else lat.push(r[0] - commit);
  }
  lat.sort((a, b) => a - b);
  return { expected, missing, mismatched, unreadableBodies, lat };
}
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

function sizeOf(m: ConsumedMessage): number {
  return (m.value?.length ?? 0) + (m.key?.length ?? 0) + Object.entries(m.headers).reduce((h, [k, v]) => h + k.length + v.length, 0);
}

/** Sends one request and resolves once the broker acked it (acks=all, idempotent), per client library. */
type RawSend = (messages: ConsumedMessage[]) => Promise<void>;

/** A bare @platformatic/kafka producer with the adapter's produce settings (idempotent, acks=all, Java partitioning). */
async function platformaticRawSender(topic: string): Promise<{ send: RawSend; close: () => Promise<void> }> {
  const producer = new PltProducer<Buffer, Buffer, Buffer, Buffer>({
    ...platformaticBaseOptions(brokers, 'bench-raw', kafkaSecurityFromEnv()),
    ...PLATFORMATIC_PRODUCE_OPTIONS,
  });
  const send: RawSend = async (msgs) => {
    await producer.send({
      messages: msgs.map((m) => ({
        topic,
        ...(m.key === null ? {} : { key: Buffer.from(m.key) }),
        ...(m.value === null ? {} : { value: m.value }),
        headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      })),
    });
  };
  return { send, close: () => producer.close() };
}

/** The KafkaJS-shaped API of @confluentinc/kafka-javascript (librdkafka), as far as this baseline uses it. */
interface ConfluentKafkaJs {
  Kafka: new (config: Record<string, unknown>) => {
    producer(config: Record<string, unknown>): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      send(r: { topic: string; messages: { key: string | null; value: Buffer | null; headers: Record<string, string> }[] }): Promise<unknown>;
    };
  };
}

/**
 * A bare @confluentinc/kafka-javascript producer (librdkafka through its KafkaJS-shaped API): idempotent, so
 * acks=all, and the same linger as the kcat baseline. It is an optional native module: undefined when it did not build.
 */
async function confluentRawSender(topic: string): Promise<{ send: RawSend; close: () => Promise<void> }> {
  const { KafkaJS } = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as { KafkaJS: ConfluentKafkaJs };
  const s = kafkaSecurityFromEnv();
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { clientId: 'bench-raw', brokers, ...(s.ssl ? { ssl: true } : {}), ...(s.sasl ? { sasl: s.sasl } : {}) },
    ...(s.sslCaFile ? { 'ssl.ca.location': s.sslCaFile } : {}),
    log_level: 0,
  });
  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 }, 'linger.ms': 5, 'compression.type': 'none' });
  await producer.connect();
  return {
    send: async (msgs) => {
      await producer.send({ topic, messages: msgs.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
    },
    close: () => producer.disconnect(),
  };
}

/**
 * A raw producer of the client library sending the same messages: kafkajs
 * (idempotent, acks=all, one request in flight) or @platformatic/kafka (the
 * adapter's settings). Requests are cut the same way for both.
 */
async function rawBaseline(from: number, to: number, partitions: number, maxBatch: number, maxBytes: number, clientName = 'kafkajs') {
  const msgs = messages.slice(from, to);
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING, ...kafkajsSecurity(kafkaSecurityFromEnv()) });
  const topic = `${prefix}.raw-baseline`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  for (let i = 0; i < 150; i++) {
    const md = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    if (md?.topics[0]?.partitions.length === partitions && md.topics[0].partitions.every((p) => p.leader >= 0)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  let sender: { send: RawSend; close: () => Promise<void> };
  if (clientName === 'platformatic') sender = await platformaticRawSender(topic);
  else if (clientName === 'confluent') sender = await confluentRawSender(topic);
  else {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    sender = {
      send: async (ms) => {
        await producer.send({ topic, acks: -1, messages: ms.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) });
      },
      close: () => producer.disconnect(),
    };
  }
  const out = msgs;
  await sender.send(out.slice(0, 10));
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  let requests = 0;
  for (let i = 0; i < out.length;) {
    let j = i;
    let bytes = 0;
    while (j < out.length && j - i < maxBatch && (j === i || bytes + sizeOf(msgs[j]!) <= maxBytes)) bytes += sizeOf(msgs[j++]!);
    await sender.send(out.slice(i, j));
    requests++;
    i = j;
  }
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  await sender.close();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return {
    messages: out.length,
    avgMessageBytes: Math.round(msgs.reduce((s, m) => s + sizeOf(m), 0) / Math.max(1, msgs.length)),
    requests,
    ms: Math.round(ms),
    eventsPerS: Math.round(out.length / (ms / 1000)),
    cpuCores: Math.round(((cpu.user + cpu.system) / 1e3 / ms) * 100) / 100,
  };
}

/** kcat on PATH (or KCAT=/path), else undefined. */
function findKcat(): string | undefined {
  if (process.env.KCAT) return existsSync(process.env.KCAT) ? process.env.KCAT : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'kcat'))) return join(dir, 'kcat');
  }
  return undefined;
}

/** CPU seconds of this process's waited-for children so far (Linux /proc/self/stat cutime + cstime), or null. */
function childrenCpuS(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 16 and 17 of proc(5), counted from 3 (state) after the command name; clock ticks of 1/100 s.
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

function runKcat(kcat: string, args: string[], inputFile: string): Promise<{ ms: number; code: number | null; stderr: string }> {
  const fd = openSync(inputFile, 'r');
  const t = performance.now();
  const child = spawn(kcat, args, { stdio: [fd, 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    if (stderr.length < 4_000) stderr += c.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      closeSync(fd);
      reject(err);
    });
    child.once('close', (code) => {
      const ms = performance.now() - t;
      closeSync(fd);
      resolve({ ms, code, stderr: stderr.trim() });
    });
  });
}

/**
 * The same messages (same keys and values; the first message's headers on every
 * message, as kcat sets headers per run, not per message) produced by kcat from a
 * file, one message a line, key and value split by a tab (neither occurs in a key
 * `orgId:recordId` nor in JSON.stringify output, checked). librdkafka as the Java
 * producer would run: idempotent (so acks=all, ≤ 5 requests in flight), linger 5 ms,
 * murmur2 partitioner, no compression (ours has none). Timed from spawn to exit; a
 * run of 10 messages first (connection, metadata, page cache) gives `startupMs`, which
 * `eventsPerS` leaves out (`eventsPerSWithStartup` keeps it); the median of three
 * timed runs. Every message is checked on the topic afterwards (sum of high watermarks).
 */
const KCAT_RUNS = 3;

/** The same TLS and SASL settings in librdkafka's words, so kcat reaches a secured broker like the others. */
function librdkafkaSecurity(s: KafkaSecurity): string[] {
  const protocol = `${s.sasl ? 'sasl_' : ''}${s.ssl ? 'ssl' : 'plaintext'}`;
  return [
    `security.protocol=${protocol}`,
    ...(s.sslCaFile ? [`ssl.ca.location=${s.sslCaFile}`] : []),
    ...(s.sasl ? [`sasl.mechanisms=${s.sasl.mechanism.toUpperCase()}`, `sasl.username=${s.sasl.username}`, `sasl.password=${s.sasl.password}`] : []),
  ];
}

async function kcatBaseline(from: number, to: number, partitions: number) {
  const kcat = findKcat();
  if (!kcat) return { skipped: 'not installed' };
  const msgs = messages.slice(from, to);
  if (msgs.length === 0) throw new Error('kcat baseline: no messages');
  const headers = Object.entries(msgs[0]!.headers);
  const lines: string[] = [];
  let bytes = 0;
  const headerBytes = headers.reduce((h, [k, v]) => h + k.length + v.length, 0);
  for (const m of msgs) {
    const key = m.key ?? '';
    const value = m.value?.toString('utf8') ?? '';
    if (/[\t\n]/.test(key) || value.includes('\n')) throw new Error('kcat baseline: a key or value holds the delimiter');
    lines.push(`${key}\t${value}`);
    bytes += key.length + value.length + headerBytes;
  }
  const dir = mkdtempSync(join(tmpdir(), 'forcehook-kcat-'));
  const file = join(dir, 'messages.txt');
  const warmFile = join(dir, 'warm.txt');
  writeFileSync(file, lines.join('\n') + '\n');
  writeFileSync(warmFile, lines.slice(0, 10).join('\n') + '\n');
  const kafka = new Kafka({ clientId: 'bench-kcat', brokers, logLevel: logLevel.NOTHING, ...kafkajsSecurity(kafkaSecurityFromEnv()) });
  const topic = `${prefix}.kcat-baseline`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    const config = [
      'enable.idempotence=true',
      'acks=all',
      'linger.ms=5',
      'partitioner=murmur2_random',
      'compression.codec=none',
      ...librdkafkaSecurity(kafkaSecurityFromEnv()),
    ];
    const args = [
      '-P',
      '-b',
      brokers.join(','),
      '-t',
      topic,
      '-K',
      '\t',
      ...config.flatMap((c) => ['-X', c]),
      ...headers.flatMap(([k, v]) => ['-H', `${k}=${v}`]),
    ];
    const warm = await runKcat(kcat, args, warmFile);
    if (warm.code !== 0) throw new Error(`kcat exited ${warm.code}: ${warm.stderr.slice(0, 500)}`);
    // Three timed runs (each well under a second at these sizes), the median reported.
    const runs: { ms: number; cpuS: number | null; stderr: string }[] = [];
    for (let i = 0; i < KCAT_RUNS; i++) {
      const cpu0 = childrenCpuS();
      const r = await runKcat(kcat, args, file);
      const cpu1 = childrenCpuS();
      if (r.code !== 0) throw new Error(`kcat exited ${r.code}: ${r.stderr.slice(0, 500)}`);
      runs.push({ ms: r.ms, cpuS: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, stderr: r.stderr });
    }
    const run = [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
    const offsets = await admin.fetchTopicOffsets(topic);
    const onTopic = offsets.reduce((s, p) => s + Number(p.high), 0);
    const expected = KCAT_RUNS * msgs.length + Math.min(10, msgs.length);
    if (onTopic !== expected) throw new Error(`kcat baseline: ${onTopic} messages on ${topic}, expected ${expected}`);
    const work = Math.max(1, run.ms - warm.ms);
    return {
      messages: msgs.length,
      avgMessageBytes: Math.round(bytes / msgs.length),
      ms: Math.round(run.ms),
      startupMs: Math.round(warm.ms),
      eventsPerS: Math.round(msgs.length / (work / 1000)),
      eventsPerSWithStartup: Math.round(msgs.length / (run.ms / 1000)),
      cpuCores: run.cpuS === null ? null : Math.round((run.cpuS / (run.ms / 1000)) * 100) / 100,
      runsMs: runs.map((r) => Math.round(r.ms)),
      verifiedOnTopic: onTopic,
      config,
      headersPerMessage: headers.length,
      kcat,
      stderr: run.stderr ? run.stderr.slice(0, 300) : undefined,
    };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on(
  'message',
  (m: {
    id: string;
    op: string;
    from?: number;
    to?: number;
    partitions?: number;
    maxBatch?: number;
    maxBytes?: number;
    client?: string;
    commitFrom?: number;
    commitTo?: number;
  }) => {
    const reply = (result: unknown) => process.send!({ id: m.id, result });
    const fail = (err: unknown) => process.send!({ id: m.id, error: String(err) });
    if (m.op === 'count') reply(messages.length);
    else if (m.op === 'webhooks') reply(webhooks);
    else if (m.op === 'stamps') reply(stamps.slice(m.from ?? 0, m.to ?? stamps.length));
    else if (m.op === 'receipts') reply(receiptFigures(m.commitFrom ?? 0, m.commitTo ?? Infinity));
    else if (m.op === 'kcat') kcatBaseline(m.from ?? 0, m.to ?? messages.length, m.partitions ?? 1).then(reply, fail);
    else if (m.op === 'raw')
      rawBaseline(m.from ?? 0, m.to ?? messages.length, m.partitions ?? 1, m.maxBatch ?? 2000, m.maxBytes ?? 900_000, m.client).then(reply, fail);
    else fail(`unknown op ${m.op}`);
  },
);

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  receiver.close();
  receiver.closeAllConnections();
  void consumer
    .stop()
    .then(() => client.close())
    .finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on('SIGTERM', close);
process.on('disconnect', close);
process.send!({ event: 'ready', hookUrl });
