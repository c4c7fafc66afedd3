/**
 * `GET /v1/cluster` on the in-memory Kafka port: the owners group's members
 * with the orgs they follow, the dispatcher group's lag, replay positions.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { TEST_ORG } from '../../testkit/lead-event.js';
import { testLogger } from '../core/log.js';
import { createHttpApp } from '../http/app.js';
import { topics as topicsFor, topicSpecs } from '../kafka/topics.js';
import { createMetrics } from '../observability/metrics.js';
import { ServiceStore } from '../state/store.js';
import { clusterRouter } from './cluster.js';

const TOKEN = 'test-token-0123456789abcdef';
const topics = topicsFor('t');
let server: Server | undefined;
let store: ServiceStore | undefined;

afterEach(async () => {
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  await store?.stop();
});

describe('GET /v1/cluster', () => {
  it('shows each instance with the orgs it follows, the dispatcher lag per partition and the replay positions', async () => {
    const kafka = new MemoryKafka();
    await kafka.admin().ensureTopics(topicSpecs(topics, [1_000], 2));
    store = new ServiceStore({ client: kafka, stateTopic: topics.state, checkpointTopic: topics.checkpoints, logger: testLogger() });
    await store.start();
    const at = '2030-01-01T00:00:00.000Z';
    await store.putConnection({
      id: 'c1',
      orgId: TEST_ORG,
      loginUrl: 'https://login.example.test',
      instanceUrl: 'https://org.example.test',
      clientId: 'id',
      clientSecret: 's',
      refreshToken: 's',
      status: 'active',
      createdAt: at,
      updatedAt: at,
    });
    await store.putCheckpoint({ kind: 'cdc', connectionId: 'c1', channel: '/data/LeadChangeEvent', replayId: '42', commitTimestamp: 1, updatedAt: at });
    // An instance in the owners group holding the assignment partitions.
    const owner = kafka.consumer('t.owners');
    await owner.subscribe([topics.assignments]);
    await owner.run({ eachBatch: async () => undefined });
    // Ten events, the dispatcher committed three of partition 0.
    await kafka.producer().send(
      topics.events,
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: Buffer.from('{}'), headers: {} })),
    );
    const [p0] = await kafka.admin().topicOffsets(topics.events);
    kafka.commit('t.dispatcher', [{ topic: topics.events, partition: 0, offset: '3' }]);

    const app = createHttpApp({
      apiToken: TOKEN,
      bodyLimit: '1mb',
      logger: testLogger(),
      metrics: createMetrics(),
      ready: async () => true,
      v1: [clusterRouter({ kafka, topics, store, prefix: 't', retryDelaysMs: [1_000], ownership: () => undefined })],
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((ok) => server!.once('listening', ok));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/cluster`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      instances: { follows: { connectionId: string; orgId: string }[]; partitions: number[] }[];
      lag: { topic: string; partition: number; committed: string | null; lag: number }[];
      replay: { kind: string; orgId: string; channel: string; replayId: string }[];
    };
    expect(body.instances).toHaveLength(1);
    expect(body.instances[0]!.follows).toEqual([{ connectionId: 'c1', orgId: TEST_ORG }]);
    const events0 = body.lag.find((l) => l.topic === topics.events && l.partition === 0)!;
    expect(events0).toMatchObject({ committed: '3', lag: Number(p0!.high) - 3 });
    const events1 = body.lag.find((l) => l.topic === topics.events && l.partition === 1)!;
    expect(events1.committed).toBeNull();
    expect(body.lag.some((l) => l.topic === topics.retry(1_000))).toBe(true);
    expect(body.replay).toEqual([{ kind: 'cdc', connectionId: 'c1', orgId: TEST_ORG, channel: '/data/LeadChangeEvent', replayId: '42', updatedAt: at }]);
    await owner.stop();
  });
});
