/**
 * The dispatcher while a subscription's circuit breaker is open, on the
 * in-memory Kafka port with fake timers: time is the subject here (cooldowns,
 * schedule steps, deadlines), so the tests move it instead of waiting for it.
 *
 * What must hold: an attempt counts only when a request was made; records held
 * back by an open breaker keep their retries, go out at once when a probe
 * succeeds, and are dead-lettered only once their whole schedule has passed
 * with the endpoint still failing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryKafka } from '../../../testkit/kafka/memory.js';
import { createLogger } from '../../core/log.js';
import { leadCreatedEvent } from '../../../testkit/lead-event.js';
import type { ForcehookEvent } from '../../events/schema.js';
import { topics as topicsFor, topicSpecs } from '../../kafka/topics.js';
import { toKafkaMessage } from '../../publish/message.js';
import type { DeliveryStateRecord, SubscriptionRecord } from '../../state/records.js';
import { decodeDelivery } from '../record.js';
import { DeliveryStateKeeper } from '../state/keeper.js';
import { systemClock, type AttemptOutcome, type DeliveryAttempt, type Executor } from '../types.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { makeSchedule, planHold } from './plan.js';

const SUB: SubscriptionRecord = {
  id: 'sub-1',
  connectionId: 'c1',
  trigger: 'record.created',
  object: 'Lead',
  destination: { type: 'webhook', url: 'https://example.test/hook' },
  createdAt: '2030-01-01T00:00:00.000Z',
};

interface Stack {
  kafka: MemoryKafka;
  dispatcher: Dispatcher;
  keeper: DeliveryStateKeeper;
  /** Every request the endpoint received: event id, attempt number, time. */
  requests: { eventId: string; attempt: number; at: number }[];
  dlq(): { eventId: string; attempts: number; reason: string | undefined }[];
  publish(events: ForcehookEvent[]): Promise<void>;
  state(): DeliveryStateRecord | undefined;
}

async function stack(
  schedule: number[],
  answer: (eventId: string, attempt: number, now: number) => AttemptOutcome,
  breaker = { failureThreshold: 5, cooldownMs: schedule[0]!, maxCooldownMs: Math.min(300_000, Math.max(...schedule)) },
): Promise<Stack> {
  const kafka = new MemoryKafka();
  const topics = topicsFor('t');
  await kafka.admin().ensureTopics(topicSpecs(topics, schedule));
  const states = new Map<string, DeliveryStateRecord>();
  const logger = createLogger({ name: 'test', level: 'silent' });
  const keeper = new DeliveryStateKeeper(
    {
      deliveryState: (id) => states.get(id),
      putDeliveryState: async (r) => void states.set(r.subscriptionId, r),
      subscription: (id) => (id === SUB.id ? SUB : undefined),
    },
    systemClock,
    logger,
    100,
  );
  const requests: Stack['requests'] = [];
  const executor: Executor<'webhook'> = {
    type: 'webhook',
    timeoutMs: 15_000,
    async execute(a: DeliveryAttempt<'webhook'>) {
      requests.push({ eventId: a.event.id, attempt: a.attempt, at: Date.now() });
      return answer(a.event.id, a.attempt, Date.now());
    },
  };
  const dispatcher = createDispatcher(
    { groupId: 't.dispatcher', retrySchedule: schedule, jitter: 0, commitIntervalMs: 10, breaker },
    { kafka, topics, subscription: (id) => (id === SUB.id ? SUB : undefined), subscriptions: () => [SUB], keeper, executors: { webhook: executor }, logger },
  );
  await dispatcher.start();
  return {
    kafka,
    dispatcher,
    keeper,
    requests,
    dlq: () =>
      kafka.messages(topics.dlq).map((m) => {
        const r = decodeDelivery(m)!;
        return { eventId: r.event.id, attempts: r.attempts, reason: m.headers['fh-dead-reason'] };
      }),
    publish: async (events) => void (await kafka.producer().send(topics.events, events.map(toKafkaMessage))),
    state: () => states.get(SUB.id),
  };
}

const leads = (n: number): ForcehookEvent[] =>
  Array.from({ length: n }, (_, i) => {
    const recordId = `00Q0000000000${String(i).padStart(2, '0')}AAA`;
    return { ...leadCreatedEvent, id: `event-${i}`, subject: recordId, data: { ...leadCreatedEvent.data, recordId } };
  });

/** Fails the first `failures` attempts of every event, then accepts. */
const failFirst =
  (failures: number) =>
  (_id: string, attempt: number): AttemptOutcome =>
    attempt <= failures ? { result: 'retry', error: 'HTTP 500', status: 500 } : { result: 'delivered', status: 200 };

let s: Stack | undefined;
beforeEach(() => {
  vi.useFakeTimers({ now: Date.parse('2030-01-01T00:00:00Z') });
});
afterEach(async () => {
  await s?.dispatcher.stop();
  await s?.keeper.stop();
  s = undefined;
  vi.useRealTimers();
});

describe('an open circuit does not use up retries', () => {
  it('an endpoint failing the first two attempts of every event gets every event on its third attempt (schedule 1s,1s,2s)', async () => {
    s = await stack([1_000, 1_000, 2_000], failFirst(2));
    const sent = leads(5);
    await s.publish(sent);
    await vi.advanceTimersByTimeAsync(60_000);

    const delivered = (id: string) => s!.requests.filter((r) => r.eventId === id);
    for (const e of sent)
      expect(
        delivered(e.id).map((r) => r.attempt),
        e.id,
      ).toEqual([1, 2, 3]);
    expect(s.dlq()).toEqual([]);
    expect(s.dispatcher.stats().breakers[SUB.id]).toBe('closed');
    // Every counted attempt is a request the endpoint received.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.state()).toMatchObject({ attempts: s.requests.length, delivered: 5, failures: 10, dlqCount: 0 });
  });

  it('held records keep their attempts while the breaker stays open across several schedule steps, and go out together once a probe succeeds', async () => {
    const schedule = [5_000, 60_000, 300_000, 1_800_000];
    let healthyAt = Infinity;
    s = await stack(schedule, (_id, _n, now) => (now >= healthyAt ? { result: 'delivered' } : { result: 'retry', error: 'HTTP 503', status: 503 }));
    const sent = leads(20);
    await s.publish(sent);
    // Twenty minutes of a dead endpoint: far past the schedule's first three steps.
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    expect(s.dispatcher.stats().breakers[SUB.id]).toBe('open');
    const tried = new Map<string, number>();
    for (const r of s.requests) tried.set(r.eventId, (tried.get(r.eventId) ?? 0) + 1);
    // Only the probes reached the endpoint after the breaker opened; most records were never tried again.
    expect(s.requests.length).toBeLessThan(sent.length + 12);
    expect(s.dlq()).toEqual([]);
    expect(s.dispatcher.stats().held).toBeGreaterThan(0);

    const held = s.dispatcher.stats().held;
    expect(held).toBeGreaterThanOrEqual(sent.length - 3);

    healthyAt = Date.now();
    const before = s.requests.length;
    // The next probe (cooldown at most 5 min) succeeds; the held records follow it at once, not a schedule step later.
    await vi.advanceTimersByTimeAsync(300_000);
    const after = s.requests.slice(before);
    const probeAt = after[0]!.at;
    expect(after.filter((r) => r.at - probeAt < 1_000).length).toBeGreaterThanOrEqual(held);
    // The probes that failed wait for their own next step; once it has passed, every record was delivered.
    await vi.advanceTimersByTimeAsync(schedule.reduce((a, b) => a + b));
    for (const e of sent) {
      const attempts = s.requests.filter((r) => r.eventId === e.id).map((r) => r.attempt);
      // Nobody lost a retry to the breaker: the attempt numbers are the requests each record really got.
      expect(attempts, e.id).toEqual(attempts.map((_, i) => i + 1));
      expect(attempts.length).toBeLessThanOrEqual(schedule.length + 1);
    }
    expect(new Set(s.requests.filter((r) => r.at >= healthyAt).map((r) => r.eventId)).size).toBe(sent.length);
    expect(s.dlq()).toEqual([]);
  });

  it('released records keep their order per record', async () => {
    let healthyAt = Infinity;
    s = await stack([1_000, 60_000], (_id, _n, now) => (now >= healthyAt ? { result: 'delivered' } : { result: 'retry', error: 'HTTP 503', status: 503 }));
    // Five failures open the breaker; then three changes of one record arrive while it is open.
    await s.publish(leads(5));
    await vi.advanceTimersByTimeAsync(100);
    const record = leads(1)[0]!;
    const changes = [1, 2, 3].map((n) => ({ ...record, id: `change-${n}` }));
    await s.publish(changes);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.requests.some((r) => r.eventId.startsWith('change-'))).toBe(false);
    healthyAt = Date.now();
    await vi.advanceTimersByTimeAsync(120_000);
    const order = s.requests.filter((r) => r.eventId.startsWith('change-')).map((r) => r.eventId);
    expect(order).toEqual(['change-1', 'change-2', 'change-3']);
  });

  it('an endpoint dead for the whole schedule: every record is dead-lettered after about the schedule’s total time', async () => {
    const schedule = [1_000, 2_000, 4_000];
    s = await stack(schedule, () => ({ result: 'retry', error: 'HTTP 503', status: 503 }));
    const sent = leads(10);
    await s.publish(sent);
    const t0 = Date.now();
    await vi.waitFor(
      async () => {
        await vi.advanceTimersByTimeAsync(500);
        expect(s!.dlq()).toHaveLength(sent.length);
      },
      { timeout: 10_000, interval: 0 },
    );
    const took = Date.now() - t0;
    // Total 7 s, plus at most one longest cooldown (4 s) and one more to notice.
    expect(took).toBeGreaterThanOrEqual(7_000);
    expect(took).toBeLessThanOrEqual(7_000 + 4_000 + 4_000);
    for (const d of s.dlq()) {
      expect(d.reason).toBe('exhausted');
      expect(d.attempts).toBeLessThanOrEqual(schedule.length + 1);
    }
    // Counted attempts are the requests the endpoint really received.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.state()?.attempts).toBe(s.requests.length);
  });
});

describe('planHold: the policy for a record the breaker refused', () => {
  const schedule = makeSchedule([5_000, 300_000], { jitter: 0 });
  const record = { v: 1 as const, subscriptionId: 's', recordKey: 'o:r', event: leadCreatedEvent, attempts: 1, firstAttemptAt: 0, origin: 'match' as const };

  it('holds without counting an attempt, due when the breaker admits again, on the first tier', () => {
    const h = planHold(record, schedule, 10_000, { until: 40_000, graceMs: 300_000 });
    expect(h).toEqual({ action: 'hold', tier: 5_000, record: { ...record, held: true, heldSince: 10_000, dueAt: 40_000 } });
    // Held again later: it keeps when it was first held.
    const again = planHold(h.record, schedule, 40_000, { until: 100_000, graceMs: 300_000 });
    expect(again).toMatchObject({ action: 'hold', record: { attempts: 1, heldSince: 10_000, dueAt: 100_000 } });
  });

  it('dead-letters once the whole schedule and one longest cooldown have passed since the delivery began', () => {
    const deadline = 0 + 305_000 + 300_000;
    expect(planHold(record, schedule, deadline - 1, { until: deadline + 10, graceMs: 300_000 }).action).toBe('hold');
    const late = planHold({ ...record, held: true, heldSince: 1_000, dueAt: deadline }, schedule, deadline, { until: deadline + 10, graceMs: 300_000 });
    expect(late).toMatchObject({ action: 'dlq', reason: 'exhausted', record: { attempts: 1, lastError: 'circuit open for the whole retry schedule' } });
    expect(late.record.held).toBeUndefined();
    expect(late.record.dueAt).toBeUndefined();
  });

  it('a record never attempted counts from when it was first held', () => {
    const fresh = { ...record, attempts: 0, firstAttemptAt: undefined };
    const h = planHold(fresh, schedule, 50_000, { until: 60_000, graceMs: 0 });
    expect(h.record.heldSince).toBe(50_000);
    expect(planHold(h.record, schedule, 50_000 + 305_000, { until: 0, graceMs: 0 }).action).toBe('dlq');
  });
});
