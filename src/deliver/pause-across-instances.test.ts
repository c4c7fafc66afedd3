/**
 * Pausing is visible on every instance: the API of one instance writes the
 * flag to the state topic, and the delivery engine of another, reading its own
 * copy of the state, parks that subscription's events and sends them once the
 * first instance resumes it. On the in-memory Kafka port, two ServiceStores
 * standing for two instances.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { leadCreatedEvent } from '../../testkit/lead-event.js';
import { waitUntil } from '../../testkit/wait.js';
import { createLogger } from '../core/log.js';
import { topics as topicsFor, topicSpecs } from '../kafka/topics.js';
import { toKafkaMessage } from '../publish/message.js';
import type { SubscriptionRecord } from '../state/records.js';
import { ServiceStore } from '../state/store.js';
import { createDeliveryEngine, type DeliveryEngine } from './engine.js';
import type { Executor } from './types.js';

const topics = topicsFor('t');
const logger = createLogger({ name: 'test', level: 'silent' });
const SUB: SubscriptionRecord = {
  id: 'sub-1',
  connectionId: 'c1',
  trigger: 'record.created',
  object: 'Lead',
  destination: { type: 'webhook', url: 'https://example.test/hook' },
  createdAt: '2030-01-01T00:00:00.000Z',
};

const open: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.stop();
});

describe('pause across instances', () => {
  it('a pause written by one instance holds the deliveries of another until it resumes them', async () => {
    const kafka = new MemoryKafka();
    await kafka.admin().ensureTopics(topicSpecs(topics, [1_000], 2));
    const store = (): ServiceStore => new ServiceStore({ client: kafka, stateTopic: topics.state, checkpointTopic: topics.checkpoints, logger });
    const api = store();
    const delivering = store();
    await api.start();
    await delivering.start();
    open.push(api, delivering);
    await api.putSubscription(SUB);

    const delivered: string[] = [];
    const executor: Executor<'webhook'> = {
      type: 'webhook',
      async execute(a) {
        delivered.push(a.event.id);
        return { result: 'delivered', status: 200 };
      },
    };
    const engine: DeliveryEngine = createDeliveryEngine(
      { prefix: 't', dispatcher: { retrySchedule: [1_000], commitIntervalMs: 10 } },
      { kafka, topics, store: delivering, executors: { webhook: executor }, logger },
    );
    await engine.start();
    open.push(engine);
    const publish = (id: string) => kafka.producer().send(topics.events, [toKafkaMessage({ ...leadCreatedEvent, id })]);

    await waitUntil(() => delivering.subscription(SUB.id) !== undefined, 5_000, 'the subscription on the delivering instance');
    await publish('before');
    await waitUntil(() => delivered.includes('before'), 5_000, 'a delivery before the pause');

    await api.putSubscription({ ...SUB, pausedAt: new Date().toISOString() });
    await waitUntil(() => delivering.subscription(SUB.id)?.pausedAt !== undefined, 5_000, 'the pause on the delivering instance');
    await publish('while-paused');
    await waitUntil(() => engine.dispatcher.stats().parked === 1, 5_000, 'the event parked');
    expect(delivered).toEqual(['before']);

    await api.putSubscription(SUB);
    await waitUntil(() => delivered.includes('while-paused'), 5_000, 'the parked event after resume');
    expect(engine.dispatcher.stats().parked).toBe(0);
  });
});
