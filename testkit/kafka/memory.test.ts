/**
 * The in-memory Kafka port keeps the guarantees unit tests rely on: per-key
 * partition order, commits that a later consumer of the group resumes from,
 * pause and resume, and a batch handed over again when its handler throws.
 */
import { describe, expect, it, vi } from 'vitest';
import type { ConsumedMessage } from '../../src/kafka/types.js';
import { MemoryKafka } from './memory.js';

const msg = (key: string, value: string) => ({ key, value: Buffer.from(value), headers: {} });
const until = (cond: () => boolean) => vi.waitFor(() => expect(cond()).toBe(true), { timeout: 2_000, interval: 5 });

describe('MemoryKafka', () => {
  it('keeps per-key order, resumes a group from its commit, and reads a failed batch again', async () => {
    const kafka = new MemoryKafka({ defaultPartitions: 3 });
    await kafka.admin().ensureTopics([{ topic: 't' }]);
    await kafka.producer().send(
      't',
      ['a1', 'b1', 'a2', 'b2', 'a3'].map((v) => msg(v[0]!, v)),
    );
    expect(
      kafka
        .messages('t')
        .filter((m) => m.key === 'a')
        .map((m) => m.value!.toString()),
    ).toEqual(['a1', 'a2', 'a3']);

    const seen: ConsumedMessage[] = [];
    let failOnce = true;
    const c1 = kafka.consumer('g');
    await c1.subscribe(['t'], { fromBeginning: true });
    await c1.run({
      eachBatch: async (b) => {
        if (failOnce && b.messages.some((m) => m.key === 'a')) {
          failOnce = false;
          throw new Error('handler failed');
        }
        seen.push(...b.messages);
        const last = b.messages[b.messages.length - 1]!;
        await c1.commit([{ topic: b.topic, partition: b.partition, offset: String(Number(last.offset) + 1) }]);
      },
    });
    await until(() => seen.length === 5);
    expect(seen.filter((m) => m.key === 'a').map((m) => m.value!.toString())).toEqual(['a1', 'a2', 'a3']);
    await c1.stop();

    await kafka.producer().send('t', [msg('a', 'a4')]);
    const c2 = kafka.consumer('g');
    const later: string[] = [];
    await c2.subscribe(['t'], { fromBeginning: true });
    const aPartition = kafka.messages('t').find((m) => m.key === 'a')!.partition;
    c2.pause([{ topic: 't', partition: aPartition }]);
    await c2.run({ eachBatch: async (b) => void later.push(...b.messages.map((m) => m.value!.toString())) });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(later).toEqual([]);
    c2.resume([{ topic: 't', partition: aPartition }]);
    await until(() => later.length === 1);
    expect(later).toEqual(['a4']);
    await kafka.close();
  });

  it('refuses a topic that does not exist unless the producer may create it', async () => {
    const kafka = new MemoryKafka();
    await expect(kafka.producer().send('nope', [msg('k', 'v')])).rejects.toMatchObject({ code: 'KAFKA' });
    await kafka.producer({ allowAutoTopicCreation: true }).send('nope', [msg('k', 'v')]);
    expect(kafka.messages('nope')).toHaveLength(1);
  });
});
