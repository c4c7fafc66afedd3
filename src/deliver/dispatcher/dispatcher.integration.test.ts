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
import { hasTestBrokers, testBrokers, uniquePrefix } from '../../../test/support/kafka.js';
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
    data: { orgId: ORG, connectionId: 'c1', object: 'Lead', recordId, changeType: 'CREATE', changedFields: [], record: { Name: `r${n}` }, detectedBy: 'cdc', commitTimestamp: 1_900_000_000_000 + n },
  };
}

const sub = (id: string): SubscriptionRecord =>
  ({ id, connectionId: 'c1', trigger: 'record.created', object: 'Lead', destination: { type: 'workflow', workflow: id }, createdAt: new Date().toISOString() }) as SubscriptionRecord;

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
      { kafka, topics: t, subscription: (id) => subscriptions.find((s) => s.id === id), subscriptions: () => subscriptions, keeper, executors: { workflow: executor }, logger: testLogger() },
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
});
