import { createRequire } from 'node:module';
import { Kafka, ConfigResourceTypes, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { ForcehookError } from '../core/errors.js';
import { testLogger } from '../core/log.js';
import { createKafka, KAFKA_CLIENTS, type KafkaClientName } from './index.js';
import { hasTestBrokers, testBrokers, uniquePrefix as unique } from '../../testkit/kafka/brokers.js';
import { nextOffset, type ConsumedMessage, type GroupConsumer, type KafkaClient } from './types.js';

const brokers = hasTestBrokers() ? testBrokers() : [];
/** The reference: kafkajs's port of the Java client's murmur2. */
const javaMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string) => number;

const logger = testLogger();
const clients: KafkaClient[] = [];
function makeClient(name: KafkaClientName, list = brokers): KafkaClient {
  const c = createKafka({ brokers: list, clientId: 'forcehook-test', logger, client: name });
  clients.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs a group consumer that records (and optionally commits) everything it reads. */
async function collect(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
  opts: { commit?: boolean } = {},
): Promise<{ seen: ConsumedMessage[]; consumer: GroupConsumer }> {
  const seen: ConsumedMessage[] = [];
  const consumer = kafka.consumer(groupId, { maxWaitTimeMs: 500 });
  await consumer.subscribe([topic], { fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      seen.push(...batch.messages);
      const last = batch.messages[batch.messages.length - 1]!;
      if (opts.commit) await consumer.commit([{ topic, partition: batch.partition, offset: nextOffset(last.offset) }]);
    },
  });
  return { seen, consumer };
}

// One suite, run against every client library behind the port.
describe.skipIf(!hasTestBrokers()).each(KAFKA_CLIENTS)('kafka client (%s) against a real broker', (name) => {
  const client = (list = brokers): KafkaClient => makeClient(name, list);

  it('keeps per-key order across partitions and puts a key on one partition', async () => {
    const kafka = client();
    const topic = unique('order');
    await kafka.admin().ensureTopics([{ topic, partitions: 3 }]);
    const producer = kafka.producer();
    const keys = Array.from({ length: 8 }, (_, i) => `00D000000000001:001${i}`);
    const perKey = 15;
    // One request, in order: partitions interleave, but each key's slice must come back as sent.
    const messages = Array.from({ length: perKey }, (_, seq) =>
      keys.map((key) => ({ key, value: Buffer.from(JSON.stringify({ seq })), headers: { ce_id: `${key}-${seq}` } })),
    ).flat();
    await producer.send(topic, messages);
    const { seen } = await collect(kafka, unique('g'), topic);
    await until(() => seen.length === keys.length * perKey);

    for (const key of keys) {
      const mine = seen.filter((m) => m.key === key);
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      const seqs = mine.map((m) => (JSON.parse(m.value!.toString()) as { seq: number }).seq);
      expect(seqs).toEqual(Array.from({ length: perKey }, (_, i) => i));
      expect(mine.map((m) => m.headers.ce_id)).toEqual(seqs.map((seq) => `${key}-${seq}`));
    }
    // 8 keys over 3 partitions with murmur2: more than one partition is used.
    expect(new Set(seen.map((m) => m.partition)).size).toBeGreaterThan(1);
  });

  it("puts each key on the partition Java's partitioner picks (what the owners group relies on)", async () => {
    const kafka = client();
    const topic = unique('javapart');
    const partitions = 12;
    await kafka.admin().ensureTopics([{ topic, partitions }]);
    const keys = Array.from({ length: 40 }, (_, i) => `conn-${i}-${'x'.repeat(i % 7)}`);
    await kafka.producer().send(
      topic,
      keys.map((key) => ({ key, value: Buffer.from(key), headers: {} })),
    );
    const { seen } = await collect(kafka, unique('g'), topic);
    await until(() => seen.length === keys.length);
    for (const m of seen) expect(m.partition).toBe((javaMurmur2(m.key!) & 0x7fffffff) % partitions);
  });

  it('delivers sequential sends of a key in send order', async () => {
    const kafka = client();
    const topic = unique('seq');
    await kafka.admin().ensureTopics([{ topic, partitions: 4 }]);
    const producer = kafka.producer();
    for (let seq = 0; seq < 20; seq++) {
      await producer.sendBatch([{ topic, messages: [{ key: `k${seq % 3}`, value: Buffer.from(String(seq)), headers: {} }] }]);
    }
    const { seen } = await collect(kafka, unique('g'), topic);
    await until(() => seen.length === 20);
    for (const k of ['k0', 'k1', 'k2']) {
      const values = seen.filter((m) => m.key === k).map((m) => Number(m.value!.toString()));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
  });

  it('takes concurrent sends on one producer: every message lands once, each caller in its own order', async () => {
    const kafka = client();
    const topic = unique('concurrent');
    await kafka.admin().ensureTopics([{ topic, partitions: 2 }]);
    const producer = kafka.producer();
    // Callers publishing at once on a shared producer, as the service's org tasks do.
    const callers = 6;
    const perCaller = 10;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let seq = 0; seq < perCaller; seq++) await producer.send(topic, [{ key: `k${c}`, value: Buffer.from(String(seq)), headers: {} }]);
      }),
    );
    const { seen } = await collect(kafka, unique('g'), topic);
    await until(() => seen.length >= callers * perCaller);
    expect(seen).toHaveLength(callers * perCaller);
    for (let c = 0; c < callers; c++) {
      expect(seen.filter((m) => m.key === `k${c}`).map((m) => Number(m.value!.toString()))).toEqual(Array.from({ length: perCaller }, (_, i) => i));
    }
  });

  it('re-reads everything after a restart when nothing was committed', async () => {
    const kafka = client();
    const topic = unique('nocommit');
    await kafka.admin().ensureTopics([{ topic, partitions: 1 }]);
    await kafka.producer().send(
      topic,
      [1, 2, 3, 4, 5].map((n) => ({ key: 'k', value: Buffer.from(String(n)), headers: {} })),
    );
    const group = unique('g');

    const first = await collect(kafka, group, topic);
    await until(() => first.seen.length === 5);
    await first.consumer.stop();

    const second = await collect(kafka, group, topic);
    await until(() => second.seen.length === 5);
    expect(second.seen.map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4']);
    await second.consumer.stop();
  });

  it('resumes after the last commit after a restart', async () => {
    const kafka = client();
    const topic = unique('commit');
    await kafka.admin().ensureTopics([{ topic, partitions: 1 }]);
    const producer = kafka.producer();
    await producer.send(
      topic,
      [1, 2, 3].map((n) => ({ key: 'k', value: Buffer.from(String(n)), headers: {} })),
    );
    const group = unique('g');

    const first = await collect(kafka, group, topic, { commit: true });
    await until(() => first.seen.length === 3);
    await first.consumer.stop();
    await expect(first.consumer.commit([{ topic, partition: 0, offset: '3' }])).rejects.toBeInstanceOf(ForcehookError);

    await producer.send(
      topic,
      [4, 5].map((n) => ({ key: 'k', value: Buffer.from(String(n)), headers: {} })),
    );
    const second = await collect(kafka, group, topic);
    await until(() => second.seen.length === 2);
    await new Promise((r) => setTimeout(r, 500)); // nothing older trickles in
    expect(second.seen.map((m) => m.value!.toString())).toEqual(['4', '5']);
    await second.consumer.stop();
  });

  it("reads a group's committed positions and its members' assignments (the cluster view)", async () => {
    const kafka = client();
    const topic = unique('groupview');
    await kafka.admin().ensureTopics([{ topic, partitions: 2 }]);
    await kafka.producer().send(
      topic,
      ['a', 'b', 'c'].map((k) => ({ key: k, value: Buffer.from(k), headers: {} })),
    );
    const group = unique('g');
    const running = await collect(kafka, group, topic, { commit: true });
    await until(() => running.seen.length === 3);
    const admin = kafka.admin();
    // The member list settles once the join is complete; the consumer has read, so it has joined.
    let members = await admin.groupMembers(group);
    for (let i = 0; i < 50 && members[0]?.assignment.length !== 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      members = await admin.groupMembers(group);
    }
    expect(members).toHaveLength(1);
    expect(members[0]!.assignment.map((a) => `${a.topic}:${a.partition}`).sort()).toEqual([`${topic}:0`, `${topic}:1`]);
    const offsets = await admin.groupOffsets(group, [topic]);
    const committed = offsets.reduce((n, o) => n + Number(o.offset), 0);
    expect(offsets.every((o) => o.topic === topic)).toBe(true);
    expect(committed).toBe(3);
    await running.consumer.stop();
    expect(await admin.groupMembers(group)).toEqual([]);
  });

  it('commits only what the caller commits (a partial commit re-delivers the rest)', async () => {
    const kafka = client();
    const topic = unique('partial');
    await kafka.admin().ensureTopics([{ topic, partitions: 1 }]);
    await kafka.producer().send(
      topic,
      [0, 1, 2, 3].map((n) => ({ key: 'k', value: Buffer.from(String(n)), headers: {} })),
    );
    const group = unique('g');
    const seen: ConsumedMessage[] = [];
    const consumer = kafka.consumer(group, { maxWaitTimeMs: 500 });
    await consumer.subscribe([topic], { fromBeginning: true });
    await consumer.run({
      eachBatch: async (batch) => {
        seen.push(...batch.messages);
        await consumer.commit([{ topic, partition: 0, offset: '2' }]); // only 0 and 1 are "durable"
      },
    });
    await until(() => seen.length === 4);
    await consumer.stop();
    const again = await collect(kafka, group, topic);
    await until(() => again.seen.length === 2);
    expect(again.seen.map((m) => m.offset)).toEqual(['2', '3']);
    await again.consumer.stop();
  });

  it('pauses and resumes a partition', async () => {
    const kafka = client();
    const topic = unique('pause');
    await kafka.admin().ensureTopics([{ topic, partitions: 1 }]);
    const producer = kafka.producer();
    const { seen, consumer } = await collect(kafka, unique('g'), topic);
    await producer.send(topic, [{ key: 'a', value: Buffer.from('1'), headers: {} }]);
    await until(() => seen.length === 1);
    consumer.pause([{ topic, partition: 0 }]);
    await producer.send(topic, [{ key: 'a', value: Buffer.from('2'), headers: {} }]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(seen.length).toBe(1);
    consumer.resume([{ topic, partition: 0 }]);
    await until(() => seen.length === 2);
    await consumer.stop();
  });

  it('reports assigned partitions on join and revokes them on stop', async () => {
    const kafka = client();
    const topic = unique('rebalance');
    await kafka.admin().ensureTopics([{ topic, partitions: 2 }]);
    const events: string[] = [];
    const consumer = kafka.consumer(unique('g'), {
      onAssigned: (tps) =>
        void events.push(
          `+${tps
            .map((t) => t.partition)
            .sort()
            .join(',')}`,
        ),
      onRevoked: (tps) =>
        void events.push(
          `-${tps
            .map((t) => t.partition)
            .sort()
            .join(',')}`,
        ),
    });
    await consumer.subscribe([topic]);
    await consumer.run({ eachBatch: async () => undefined });
    await until(() => events.length === 1);
    await consumer.stop();
    expect(events).toEqual(['+0,1', '-0,1']);
  });

  it('reports a partition handed to a second member as revoked from the first', async () => {
    const kafka = client();
    const topic = unique('rebalance2');
    const group = unique('g');
    await kafka.admin().ensureTopics([{ topic, partitions: 2 }]);
    const a: string[] = [];
    const b: string[] = [];
    const member = async (log: string[]) => {
      const c = kafka.consumer(group, {
        onAssigned: (tps) =>
          void log.push(
            `+${tps
              .map((t) => t.partition)
              .sort()
              .join(',')}`,
          ),
        onRevoked: (tps) =>
          void log.push(
            `-${tps
              .map((t) => t.partition)
              .sort()
              .join(',')}`,
          ),
        sessionTimeoutMs: 10_000,
      });
      await c.subscribe([topic]);
      await c.run({ eachBatch: async () => undefined });
      return c;
    };
    const first = await member(a);
    await until(() => a.length === 1);
    const second = await member(b);
    // kafkajs notices the rebalance on its next heartbeat, then re-joins.
    await until(() => b.length === 1 && a.length === 2, 30_000);
    expect(a[0]).toBe('+0,1');
    expect(a[1]).toMatch(/^-[01]$/);
    expect(b[0]).toBe(`+${a[1]!.slice(1)}`);
    await Promise.all([first.stop(), second.stop()]);
  });

  it('creates topics idempotently, compacted where asked, and refuses an uncompacted state topic', async () => {
    const kafka = client();
    const admin = kafka.admin();
    const state = unique('state');
    const events = unique('events');
    const specs = [
      { topic: state, partitions: 1, compacted: true },
      { topic: events, partitions: 3, retentionMs: 3_600_000 },
    ];
    await admin.ensureTopics(specs);
    await admin.ensureTopics(specs);
    expect((await admin.topicOffsets(events)).map((p) => p.partition)).toEqual([0, 1, 2]);

    // Check from outside our port, with kafkajs itself.
    const raw = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await raw.connect();
    try {
      const res = await raw.describeConfigs({
        includeSynonyms: false,
        resources: [state, events].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy', 'retention.ms'] })),
      });
      const cfg = (name: string, key: string) =>
        res.resources.find((r) => r.resourceName === name)?.configEntries.find((e) => e.configName === key)?.configValue;
      expect(cfg(state, 'cleanup.policy')).toBe('compact');
      expect(cfg(events, 'cleanup.policy')).toBe('delete');
      expect(cfg(events, 'retention.ms')).toBe('3600000');
    } finally {
      await raw.disconnect();
    }

    const err = await admin.ensureTopics([{ topic: events, compacted: true }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForcehookError);
    expect((err as ForcehookError).message).toMatch(/must be compacted/);
  });

  it('pings a live cluster', async () => {
    await expect(client().admin().ping()).resolves.toBeUndefined();
  });

  it('fails a ping fast against a closed port, as a retriable KAFKA_UNAVAILABLE', async () => {
    const closed = ['127.0.0.1:1'];
    const admin = client(closed).admin();
    const started = Date.now();
    const err = await admin.ping().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(ForcehookError);
    expect((err as ForcehookError).code).toBe('KAFKA_UNAVAILABLE');
    expect((err as ForcehookError).retriable).toBe(true);
  });

  it('maps a refused produce into a ForcehookError, and the producer keeps working', async () => {
    const kafka = client();
    const producer = kafka.producer();
    const err = await producer.send(unique('missing'), [{ key: 'k', value: Buffer.from('x'), headers: {} }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForcehookError);
    expect(['KAFKA', 'KAFKA_UNAVAILABLE']).toContain((err as ForcehookError).code);
    expect(typeof (err as ForcehookError).retriable).toBe('boolean');

    const topic = unique('after-failure');
    await kafka.admin().ensureTopics([{ topic, partitions: 1 }]);
    const [meta] = await producer.send(topic, [{ key: 'k', value: Buffer.from('y'), headers: {} }]);
    expect(meta).toMatchObject({ topic, partition: 0, baseOffset: '0' });
    await producer.close();
    await expect(producer.send(topic, [{ key: 'k', value: null, headers: {} }])).rejects.toBeInstanceOf(ForcehookError);
  });
});
