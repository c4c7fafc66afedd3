/**
 * TLS and SASL/SCRAM at the port, for every client library: a local broker that
 * requires both (its own CA, SCRAM-SHA-512) is reached with the same settings the
 * service reads (KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*); refused credentials
 * and an untrusted certificate come out as KAFKA_AUTH, not retriable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForcehookError } from '../core/errors.js';
import { testLogger } from '../core/log.js';
import { createKafka, KAFKA_CLIENTS, nextOffset, type ConsumedMessage, type KafkaClient, type KafkaClientName, type KafkaSecurity } from './index.js';
import { startLocalKafka, type LocalKafka } from './local/index.js';
import { uniquePrefix as unique } from '../../testkit/kafka/brokers.js';

const USER = 'forcehook';
const PASSWORD = 'correct horse battery';
const logger = testLogger();

let broker: LocalKafka;
const clients: KafkaClient[] = [];

beforeAll(async () => {
  broker = await startLocalKafka({ tls: true, saslScram: { username: USER, password: PASSWORD }, logger });
}, 180_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await broker?.stop();
});

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(KAFKA_CLIENTS)('Kafka over TLS and SASL/SCRAM (%s)', (name: KafkaClientName) => {
  const client = (security: KafkaSecurity): KafkaClient => {
    const c = createKafka({ brokers: [broker.brokers], clientId: 'forcehook-test', logger, client: name, ...security });
    clients.push(c);
    return c;
  };
  const secured = (password: string, caFile = broker.caFile!): KafkaSecurity => ({
    ssl: true,
    sslCaFile: caFile,
    sasl: { mechanism: 'scram-sha-512', username: USER, password },
  });

  it('produces and consumes through a broker that requires TLS and SCRAM', async () => {
    expect(broker.securityProtocol).toBe('SASL_SSL');
    const kafka = client(secured(PASSWORD));
    const topic = unique('secure');
    await kafka.admin().ensureTopics([{ topic, partitions: 1 }]);
    await kafka.producer().send(topic, [{ key: 'k', value: Buffer.from('over tls'), headers: { h: 'v' } }]);
    const seen: ConsumedMessage[] = [];
    const consumer = kafka.consumer(unique('g'), { maxWaitTimeMs: 500 });
    await consumer.subscribe([topic], { fromBeginning: true });
    await consumer.run({
      eachBatch: async (batch) => {
        seen.push(...batch.messages);
        await consumer.commit([{ topic, partition: batch.partition, offset: nextOffset(batch.messages.at(-1)!.offset) }]);
      },
    });
    await until(() => seen.length === 1);
    expect(seen[0]).toMatchObject({ key: 'k', headers: { h: 'v' } });
    expect(seen[0]!.value!.toString()).toBe('over tls');
    await consumer.stop();
  });

  it('wrong credentials: a KAFKA_AUTH error, not retriable', async () => {
    const err = await client(secured('not the password'))
      .admin()
      .ensureTopics([{ topic: unique('refused'), partitions: 1 }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForcehookError);
    expect((err as ForcehookError).code).toBe('KAFKA_AUTH');
    expect((err as ForcehookError).retriable).toBe(false);
  }, 60_000);
});
