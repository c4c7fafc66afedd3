/**
 * The dispatcher's fan-out against the run's real broker: an event matched by
 * two subscriptions is committed on `<prefix>.events` only once BOTH of its
 * deliveries have a durable outcome, and a stop before that leaves it to be
 * read again (at-least-once), while the finished subscription is never held
 * back by the unfinished one.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../core/log.js';
import type { ForcehookEvent } from '../../events/schema.js';
import { createKafka, topics as topicsOf, topicSpecs, type Topics } from '../../kafka/index.js';
import type { KafkaClient } from '../../kafka/types.js';
import { toKafkaMessage } from '../../publish/message.js';
import type { SubscriptionRecord } from '../../state/records.js';
import { hasTestBrokers, testBrokers, uniquePrefix } from '../../../testkit/kafka/brokers.js';
import type { DeliveryStateKeeper } from '../state/keeper.js';
import type { AttemptOutcome, DeliveryAttempt, Executor } from '../types.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';

const ORG = '00D000000000001AAA';
const SCHEDULE = [60_000];

function event(n: number): ForcehookEvent {
  const recordId = `00Q0000000000${String(n).padStart(2, '0')}AAA`;
  return {
    specversion: '1.0',
    id: `7c1c6a0e-5b0a-4c55-9d7e-0d7a5f0e9b${String(n).padStart(2, '0')}`,
    source: `/salesforce/${ORG}`,
    type: 'salesforce.record.created',
    subject: recordId,
    time: new Date(1_900_000_000_000 + n).toISOString(),
    datacontenttype: 'application/json',
    data: {
      orgId: ORG,
      connectionId: 'c1',
      object: 'Lead',
      recordId,
      changeType: 'CREATE',
      changedFields: [],
      record: { Name: `r${n}` },
      detectedBy: 'cdc',
      commitTimestamp: 1_900_000_000_000 + n,
    },
  };
}

const sub = (id: string): SubscriptionRecord =>
  ({
    id,
    connectionId: 'c1',
    trigger: 'record.created',
    object: 'Lead',
    destination: { type: 'workflow', workflow: id },
    createdAt: new Date().toISOString(),
  }) as SubscriptionRecord;

/** Delivers `fast` at once; `slow` only when released. */
function gatedExecutor(): Executor<'workflow'> & { seen: Map<string, string[]>; release(): void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen = new Map<string, string[]>();
  return {
    type: 'workflow',
    seen,
    release,
    async execute(a: DeliveryAttempt<'workflow'>): Promise<AttemptOutcome> {
      seen.set(a.subscription.id, [...(seen.get(a.subscription.id) ?? []), a.event.id]);
      if (a.subscription.id === 'slow') {
        await Promise.race([gate, new Promise((_, reject) => a.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))]);
      }
      return { result: 'delivered' };
    },
  };
}

const keeper = { attempt() {}, deadLettered() {}, isDisabled: () => false, disable: async () => {} } as unknown as DeliveryStateKeeper;

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasTestBrokers())('dispatcher fan-out', () => {
  let kafka: KafkaClient;
  let raw: Kafka;
  let t: Topics;
  let prefix: string;
  const subscriptions = [sub('fast'), sub('slow')];

  const start = (executor: Executor<'workflow'>): Promise<Dispatcher> => {
    const d = createDispatcher(
      { groupId: `${prefix}.dispatcher`, retrySchedule: SCHEDULE, commitIntervalMs: 20 },
      {
        kafka,
        topics: t,
        subscription: (id) => subscriptions.find((s) => s.id === id),
        subscriptions: () => subscriptions,
        keeper,
        executors: { workflow: executor },
        logger: testLogger(),
      },
    );
    return d.start().then(() => d);
  };

  /** The group's committed position on the events topic (-1: none). */
  const committed = async (): Promise<number> => {
    const admin = raw.admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: `${prefix}.dispatcher`, topics: [t.events] });
      return Math.max(...topic!.partitions.map((p) => Number(p.offset)));
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    kafka = createKafka({ brokers: testBrokers(), clientId: 'dispatcher-test', logger: testLogger() });
    raw = new Kafka({ brokers: testBrokers(), clientId: 'dispatcher-test-admin', logLevel: logLevel.NOTHING });
    prefix = uniquePrefix('dispatch');
    t = topicsOf(prefix);
    await kafka.admin().ensureTopics(topicSpecs(t, SCHEDULE, 1));
  });

  afterAll(async () => {
    await kafka?.close();
  });

  it('commits an event only when every subscription it matched has an outcome; a stop before that re-reads it', async () => {
    const first = gatedExecutor();
    const d1 = await start(first);
    await kafka.producer().send(t.events, [toKafkaMessage(event(1))]);
    await until(() => (first.seen.get('fast')?.length ?? 0) === 1 && (first.seen.get('slow')?.length ?? 0) === 1, 30_000, 'both attempts started');
    // The fast one is done; the slow one holds the event's offset back.
    await new Promise((r) => setTimeout(r, 500));
    expect(await committed()).toBeLessThan(1);
    await d1.stop();

    // A new member reads the event again: the slow subscription's delivery was never lost.
    const second = gatedExecutor();
    second.release();
    const d2 = await start(second);
    try {
      await until(() => (second.seen.get('slow') ?? []).includes(event(1).id), 30_000, 'the slow delivery made again');
      await until(async () => (await committed()) === 1, 10_000, 'the event committed once both are delivered');
      // A later event: committed once both deliver, and not read again by anyone.
      await kafka.producer().send(t.events, [toKafkaMessage(event(2))]);
      await until(async () => (await committed()) === 2, 20_000, 'the second event committed');
      expect(second.seen.get('fast')).toContain(event(2).id);
      expect(second.seen.get('slow')).toContain(event(2).id);
    } finally {
      await d2.stop();
    }
  });

  it('a slow but alive endpoint does not hold back a healthy one on its partition: at the limit its queued records go to the retry tier instead of holding the partition', async () => {
    const p2 = uniquePrefix('dispatch-slow');
    const t2 = topicsOf(p2);
    const tier = 2_000;
    await kafka.admin().ensureTopics(topicSpecs(t2, [tier], 1));
    const seen = new Map<string, string[]>();
    const executor: Executor<'workflow'> = {
      type: 'workflow',
      async execute(a: DeliveryAttempt<'workflow'>): Promise<AttemptOutcome> {
        seen.set(a.subscription.id, [...(seen.get(a.subscription.id) ?? []), a.event.id]);
        // Answers, every time, but takes a second: the breaker never opens.
        if (a.subscription.id === 'slow') await new Promise((r) => setTimeout(r, 1_000));
        return { result: 'delivered' };
      },
    };
    const d = createDispatcher(
      { groupId: `${p2}.dispatcher`, retrySchedule: [tier], commitIntervalMs: 20, concurrency: 2, maxOpenPerPartition: 30 },
      {
        kafka,
        topics: t2,
        subscription: (id) => subscriptions.find((s) => s.id === id),
        subscriptions: () => subscriptions,
        keeper,
        executors: { workflow: executor },
        logger: testLogger(),
      },
    );
    await d.start();
    try {
      const events = Array.from({ length: 120 }, (_, i) => event(i));
      // Arriving over time, as live traffic does: a pause would hold back what comes after it.
      const producer = kafka.producer();
      for (let i = 0; i < events.length; i += 20) {
        await producer.send(
          t2.events,
          events.slice(i, i + 20).map((e) => toKafkaMessage(e)),
        );
        await new Promise((r) => setTimeout(r, 400));
      }
      // The slow endpoint alone would take a minute (2 at a time, 1 s each); pausing
      // the partition for it would hold the fast one for about as long.
      // Held by the slow one (a pause until it drains), the last ones would come ~12 s later.
      await until(() => new Set(seen.get('fast')).size === events.length, 5_000, 'every event at the fast endpoint');
      expect(d.stats().inFlight).toBeGreaterThan(0); // the slow one is still at it
      // Nothing dropped: every event is committed only once each delivery is delivered or on the retry topic.
      await until(
        async () => {
          const admin = raw.admin();
          await admin.connect();
          try {
            const [topic] = await admin.fetchOffsets({ groupId: `${p2}.dispatcher`, topics: [t2.events] });
            return Number(topic!.partitions[0]!.offset) === events.length;
          } finally {
            await admin.disconnect();
          }
        },
        10_000,
        'every event committed',
      );
    } finally {
      await d.stop();
    }
  }, 60_000);
});
