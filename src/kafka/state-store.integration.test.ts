import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { testLogger } from '../core/log.js';
import { hasTestBrokers, testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createKafka } from './index.js';
import { CompactedStore } from './state-store.js';
import type { KafkaClient } from './types.js';

const Conn = z.object({ id: z.string(), status: z.enum(['active', 'paused']) }).strict();
type Conn = z.infer<typeof Conn>;

const logger = testLogger();
const clients: KafkaClient[] = [];
const stores: CompactedStore<Conn>[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.stop()));
  await Promise.all(clients.map((c) => c.close()));
});

function kafka(): KafkaClient {
  const c = createKafka({ brokers: testBrokers(), clientId: 'forcehook-test', logger });
  clients.push(c);
  return c;
}

async function store(topic: string, instanceId = 'a'): Promise<CompactedStore<Conn>> {
  const s = new CompactedStore({ client: kafka(), topic, schema: Conn, logger, instanceId });
  stores.push(s);
  await s.start();
  return s;
}

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!hasTestBrokers())('CompactedStore against a real broker', () => {
  it('reads its own writes and deletes with tombstones', async () => {
    const s = await store(uniquePrefix('state'));
    expect(s.entries()).toEqual([]);
    await s.put('conn:1', { id: '1', status: 'active' });
    expect(s.get('conn:1')).toEqual({ id: '1', status: 'active' });
    await s.put('conn:1', { id: '1', status: 'paused' });
    expect(s.get('conn:1')?.status).toBe('paused');
    await s.delete('conn:1');
    expect(s.get('conn:1')).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it('shows each instance the writes of the other, with change events', async () => {
    const topic = uniquePrefix('state');
    const a = await store(topic, 'a');
    const b = await store(topic, 'b');
    const seenByB: [string, Conn | undefined][] = [];
    b.onChange((key, value) => seenByB.push([key, value]));

    await a.put('conn:1', { id: '1', status: 'active' });
    await until(() => b.get('conn:1') !== undefined);
    expect(b.get('conn:1')).toEqual({ id: '1', status: 'active' });

    await b.put('conn:2', { id: '2', status: 'paused' });
    await until(() => a.get('conn:2') !== undefined);
    await a.delete('conn:1');
    await until(() => b.get('conn:1') === undefined);

    expect(seenByB).toEqual([
      ['conn:1', { id: '1', status: 'active' }],
      ['conn:2', { id: '2', status: 'paused' }],
      ['conn:1', undefined],
    ]);
    expect(a.entries()).toEqual(b.entries());
  });

  it('rebuilds the state on restart', async () => {
    const topic = uniquePrefix('state');
    const first = await store(topic, 'first');
    for (let i = 0; i < 20; i++) await first.put(`conn:${i}`, { id: String(i), status: 'active' });
    await first.put('conn:3', { id: '3', status: 'paused' });
    await first.delete('conn:7');
    await first.stop();

    const again = await store(topic, 'again');
    expect(again.size).toBe(19);
    expect(again.get('conn:3')?.status).toBe('paused');
    expect(again.get('conn:7')).toBeUndefined();
    expect(Object.fromEntries(again.entries())).toEqual(Object.fromEntries(first.entries()));
  });

  it('skips records that are not JSON or fail the schema, and keeps going', async () => {
    const topic = uniquePrefix('state');
    const c = kafka();
    await c.admin().ensureTopics([{ topic, partitions: 1, compacted: true }]);
    await c.producer().send(topic, [
      { key: 'conn:1', value: Buffer.from('{"id":"1","status":"active"}'), headers: {} },
      { key: 'conn:bad', value: Buffer.from('{not json'), headers: {} },
      { key: 'conn:1', value: Buffer.from('{"id":"1","status":"exploded"}'), headers: {} },
      { key: 'conn:2', value: Buffer.from('{"id":"2","status":"paused"}'), headers: {} },
    ]);
    const s = await store(topic);
    // the invalid update leaves the last valid value in place
    expect(Object.fromEntries(s.entries())).toEqual({
      'conn:1': { id: '1', status: 'active' },
      'conn:2': { id: '2', status: 'paused' },
    });
    await s.put('conn:3', { id: '3', status: 'active' });
    expect(s.size).toBe(3);
  });

  it('refuses to write a value its schema rejects', async () => {
    const s = await store(uniquePrefix('state'));
    await expect(s.put('conn:1', { id: '1', status: 'nope' } as unknown as Conn)).rejects.toBeInstanceOf(ValidationError);
    expect(s.size).toBe(0);
  });
});
