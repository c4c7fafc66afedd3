/**
 * The benches' Kafka side, in a process of its own so that it does not take CPU
 * from the service instance being measured: reads `<prefix>.events` from the
 * beginning and answers, over IPC, how many messages arrived and their (Kafka
 * timestamp, commitTimestamp) pairs; and runs the raw kafkajs producer baseline
 * with the very messages it read. It is also where the benches' webhooks go: a
 * receiver answering 204 at once, counting them.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createLogger } from '../../src/core/log.js';
import { createKafka, topicSpecs, topics } from '../../src/kafka/index.js';
import type { ConsumedMessage } from '../../src/kafka/types.js';

const [brokersArg, prefix] = process.argv.slice(2) as [string, string];
const brokers = brokersArg.split(',');
const logger = createLogger({ name: 'bench-reader', level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'fatal' });
const client = createKafka({ brokers, clientId: `reader-${prefix}`, logger });
await client.admin().ensureTopics(topicSpecs(topics(prefix), [5_000]).filter((s) => s.topic === topics(prefix).events));
const consumer = client.consumer(`bench-reader-${prefix}`, { maxWaitTimeMs: 100 });
const messages: ConsumedMessage[] = [];
const stamps: [number, number, number][] = [];
await consumer.subscribe([`${prefix}.events`], { fromBeginning: true });
await consumer.run({
  eachBatch: async (batch) => {
    const now = Date.now();
    for (const m of batch.messages) {
      messages.push(m);
      const commit = (JSON.parse(m.value!.toString('utf8')) as { commitTimestamp: number }).commitTimestamp;
      stamps.push([Number(m.timestamp), commit, now]);
    }
  },
});

let webhooks = 0;
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    webhooks++;
    res.writeHead(204).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

function sizeOf(m: ConsumedMessage): number {
  return (m.value?.length ?? 0) + (m.key?.length ?? 0) + Object.entries(m.headers).reduce((h, [k, v]) => h + k.length + v.length, 0);
}

/** A raw kafkajs producer (idempotent, acks=all, one request in flight) sending the same messages. */
async function rawBaseline(from: number, to: number, partitions: number, maxBatch: number, maxBytes: number) {
  const msgs = messages.slice(from, to);
  const kafka = new Kafka({ clientId: 'bench-raw', brokers, logLevel: logLevel.NOTHING });
  const topic = `${prefix}.raw-baseline`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  for (let i = 0; i < 150; i++) {
    const md = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    if (md?.topics[0]?.partitions.length === partitions && md.topics[0].partitions.every((p) => p.leader >= 0)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const out = msgs.map((m) => ({ key: m.key, value: m.value, headers: m.headers }));
  await producer.send({ topic, acks: -1, messages: out.slice(0, 10) });
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  let requests = 0;
  for (let i = 0; i < out.length; ) {
    let j = i;
    let bytes = 0;
    while (j < out.length && j - i < maxBatch && (j === i || bytes + sizeOf(msgs[j]!) <= maxBytes)) bytes += sizeOf(msgs[j++]!);
    await producer.send({ topic, acks: -1, messages: out.slice(i, j) });
    requests++;
    i = j;
  }
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
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

process.on('message', (m: { id: string; op: string; from?: number; to?: number; partitions?: number; maxBatch?: number; maxBytes?: number }) => {
  const reply = (result: unknown) => process.send!({ id: m.id, result });
  const fail = (err: unknown) => process.send!({ id: m.id, error: String(err) });
  if (m.op === 'count') reply(messages.length);
  else if (m.op === 'webhooks') reply(webhooks);
  else if (m.op === 'stamps') reply(stamps.slice(m.from ?? 0, m.to ?? stamps.length));
  else if (m.op === 'raw') rawBaseline(m.from ?? 0, m.to ?? messages.length, m.partitions ?? 1, m.maxBatch ?? 2000, m.maxBytes ?? 900_000).then(reply, fail);
  else fail(`unknown op ${m.op}`);
});

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
