/**
 * The dispatcher while a subscription is paused, on the in-memory Kafka port
 * with fake timers. What must hold: nothing is attempted while paused, the
 * commit position of the events topic does not pass a parked event (a restart
 * reads it again), every event goes out after resume, in order per record, and
 * each attempt (and dead letter) lands in the attempt log.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryKafka } from '../../../testkit/kafka/memory.js';
import { leadCreatedEvent } from '../../../testkit/lead-event.js';
import { createLogger } from '../../core/log.js';
import type { ForcehookEvent } from '../../events/schema.js';
import { topics as topicsFor, topicSpecs } from '../../kafka/topics.js';
import { toKafkaMessage } from '../../publish/message.js';
import type { DeliveryStateRecord, SubscriptionRecord } from '../../state/records.js';
import { decodeAttempt } from '../attempt-log.js';
import { DeliveryStateKeeper } from '../state/keeper.js';
import { systemClock, type AttemptOutcome, type Executor } from '../types.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';

const topics = topicsFor('t');
const GROUP = 't.dispatcher';

interface Stack {
  kafka: MemoryKafka;
  dispatcher: Dispatcher;
  keeper: DeliveryStateKeeper;
  requests: { eventId: string; at: number }[];
  setSub(s: SubscriptionRecord): void;
  publish(events: ForcehookEvent[]): Promise<void>;
}

const BASE: SubscriptionRecord = {
  id: 'sub-1',
  connectionId: 'c1',
  trigger: 'record.updated',
  object: 'Lead',
  destination: { type: 'webhook', url: 'https://example.test/hook' },
  createdAt: '2030-01-01T00:00:00.000Z',
};

async function stack(opts: { kafka?: MemoryKafka; sub: SubscriptionRecord; answer?: (eventId: string) => AttemptOutcome; notify?: boolean }): Promise<Stack> {
  const kafka = opts.kafka ?? new MemoryKafka();
  await kafka.admin().ensureTopics(topicSpecs(topics, [1_000, 2_000]));
  let sub = opts.sub;
  const listeners = new Set<(id: string) => void>();
  const states = new Map<string, DeliveryStateRecord>();
  const logger = createLogger({ name: 'test', level: 'silent' });
  const keeper = new DeliveryStateKeeper(
    {
      deliveryState: (id) => states.get(id),
      putDeliveryState: async (r) => void states.set(r.subscriptionId, r),
      subscription: (id) => (id === sub.id ? sub : undefined),
    },
    systemClock,
    logger,
    100,
  );
  const requests: Stack['requests'] = [];
  const executor: Executor<'webhook'> = {
    type: 'webhook',
    async execute(a) {
      requests.push({ eventId: a.event.id, at: Date.now() });
      return opts.answer?.(a.event.id) ?? { result: 'delivered', status: 200 };
    },
  };
  const dispatcher = createDispatcher(
    { groupId: GROUP, retrySchedule: [1_000, 2_000], jitter: 0, commitIntervalMs: 10 },
    {
      kafka,
      topics,
      subscription: (id) => (id === sub.id ? sub : undefined),
      subscriptions: () => [sub],
      ...(opts.notify === false
        ? {}
        : {
            onSubscriptionChange: (l: (id: string) => void) => {
              listeners.add(l);
              return () => listeners.delete(l);
            },
          }),
      keeper,
      executors: { webhook: executor },
      logger,
    },
  );
  await dispatcher.start();
  return {
    kafka,
    dispatcher,
    keeper,
    requests,
    setSub(next) {
      sub = next;
      for (const l of listeners) l(next.id);
    },
    publish: async (events) => void (await kafka.producer().send(topics.events, events.map(toKafkaMessage))),
  };
}

/** `n` changes each of records A and B, interleaved: A-1, B-1, A-2, B-2, ... */
function changes(n: number): ForcehookEvent[] {
  const out: ForcehookEvent[] = [];
  for (let i = 1; i <= n; i++)
    for (const r of ['A', 'B']) {
      const recordId = `00Q00000000000${r}AAA`;
      out.push({
        ...leadCreatedEvent,
        id: `${r}-${i}`,
        type: 'salesforce.record.updated',
        subject: recordId,
        data: { ...leadCreatedEvent.data, recordId, changeType: 'UPDATE' },
      });
    }
  return out;
}

const eventsCommitted = async (k: MemoryKafka): Promise<number> => {
  let n = 0;
  for (const { partition } of await k.admin().topicOffsets(topics.events)) n += Number(k.committed(GROUP, topics.events, partition) ?? 0);
  return n;
};

const stacks: Stack[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2030-01-01T00:00:00Z') });
});
afterEach(async () => {
  for (const s of stacks.splice(0)) {
    await s.dispatcher.stop();
    await s.keeper.stop();
  }
  vi.useRealTimers();
});

describe('a paused subscription', () => {
  it('gets nothing while paused, keeps its events uncommitted, and gets all of them after resume in order per record', async () => {
    const s = await stack({ sub: { ...BASE, pausedAt: '2030-01-01T00:00:00.000Z' } });
    stacks.push(s);
    const sent = changes(5);
    await s.publish(sent);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(s.requests).toEqual([]);
    expect(s.dispatcher.stats().parked).toBe(sent.length);
    // The commit position stays before the parked events: a restart would read them again.
    expect(await eventsCommitted(s.kafka)).toBe(0);

    s.setSub(BASE);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.requests.map((r) => r.eventId).sort()).toEqual(sent.map((e) => e.id).sort());
    for (const r of ['A', 'B']) {
      const order = s.requests.filter((q) => q.eventId.startsWith(r)).map((q) => q.eventId);
      expect(order).toEqual([1, 2, 3, 4, 5].map((i) => `${r}-${i}`));
    }
    expect(await eventsCommitted(s.kafka)).toBe(sent.length);
    expect(s.dispatcher.stats().parked).toBe(0);
  });

  it('paused mid-stream, later events are parked; a restart while paused reads the parked events again', async () => {
    const kafka = new MemoryKafka();
    const first = await stack({ kafka, sub: BASE });
    stacks.push(first);
    const events = changes(3).filter((e) => e.id.startsWith('A'));
    await first.publish(events.slice(0, 1));
    await vi.advanceTimersByTimeAsync(500);
    expect(first.requests.map((r) => r.eventId)).toEqual(['A-1']);
    first.setSub({ ...BASE, pausedAt: new Date().toISOString() });
    await first.publish(events.slice(1));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(first.requests.map((r) => r.eventId)).toEqual(['A-1']);
    expect(first.dispatcher.stats().parked).toBe(2);
    // Only the delivered first event is committed.
    expect(await eventsCommitted(kafka)).toBe(1);
    await first.dispatcher.stop();
    stacks.splice(stacks.indexOf(first), 1);

    const second = await stack({ kafka, sub: BASE });
    stacks.push(second);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(second.requests.map((r) => r.eventId)).toEqual(['A-2', 'A-3']);
    expect(await eventsCommitted(kafka)).toBe(3);
  });

  it('without change notices, a resume is noticed at the next fetched batch', async () => {
    const s = await stack({ sub: { ...BASE, pausedAt: '2030-01-01T00:00:00.000Z' }, notify: false });
    stacks.push(s);
    await s.publish(changes(1));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.requests).toEqual([]);
    s.setSub(BASE);
    await s.publish(changes(2).slice(2));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.requests.map((r) => r.eventId)).toEqual(['A-1', 'B-1', 'A-2', 'B-2']);
  });
});

describe('the attempt log', () => {
  it('has every attempt with its outcome, response status and error, and the dead letter', async () => {
    const s = await stack({
      sub: BASE,
      answer: (id) => (id === 'A-1' ? { result: 'retry', error: 'HTTP 500: boom', status: 500 } : { result: 'delivered', status: 200 }),
    });
    stacks.push(s);
    await s.publish(changes(1));
    await vi.advanceTimersByTimeAsync(10_000);
    const log = s.kafka.messages(topics.attempts).map((m) => decodeAttempt(m)!);
    const a1 = log.filter((e) => e.eventId === 'A-1');
    expect(a1.map((e) => [e.attempt, e.status, e.responseStatus])).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 500],
      [3, 'failed', 500],
      [3, 'dead', 500],
    ]);
    expect(a1[0]!.error).toBe('HTTP 500: boom');
    expect(log.filter((e) => e.eventId === 'B-1').map((e) => [e.attempt, e.status, e.responseStatus])).toEqual([[1, 'delivered', 200]]);
    expect(new Set(s.kafka.messages(topics.attempts).map((m) => m.key))).toEqual(new Set([BASE.id]));
  });
});
