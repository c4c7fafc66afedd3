/**
 * The operator's history API on the in-memory Kafka port, without a browser:
 * recent events (filters, newest first, bounded reads), the live tail as
 * Server-Sent Events, a subscription's attempt log, and pause/resume.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { leadCreatedEvent, TEST_ORG } from '../../testkit/lead-event.js';
import { waitUntil } from '../../testkit/wait.js';
import { testLogger } from '../core/log.js';
import { encodeAttempt, type AttemptEntry } from '../deliver/attempt-log.js';
import type { ForcehookEvent } from '../events/schema.js';
import { EventTail, recentEvents } from '../history/events.js';
import { createHttpApp } from '../http/app.js';
import { topics as topicsFor, topicSpecs } from '../kafka/topics.js';
import { createMetrics } from '../observability/metrics.js';
import { toKafkaMessage } from '../publish/message.js';
import { ServiceStore } from '../state/store.js';
import { historyRouter } from './history.js';
import { subscriptionsRouter } from './subscriptions.js';

const TOKEN = 'test-token-0123456789abcdef';
const topics = topicsFor('t');
const CONNECTION = {
  id: 'c1',
  orgId: TEST_ORG,
  loginUrl: 'https://login.example.test',
  instanceUrl: 'https://org.example.test',
  clientId: 'id',
  clientSecret: 'sealed',
  refreshToken: 'sealed',
  status: 'active' as const,
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
};

let kafka: MemoryKafka;
let store: ServiceStore;
let tail: EventTail;
let server: Server;
let base: string;

function lead(i: number, opts: { object?: string; type?: string; recordId?: string } = {}): ForcehookEvent {
  const recordId = opts.recordId ?? `00Q0000000${String(i).padStart(5, '0')}AAA`;
  return {
    ...leadCreatedEvent,
    id: `event-${i}`,
    type: (opts.type ?? 'salesforce.record.created') as ForcehookEvent['type'],
    subject: recordId,
    data: { ...leadCreatedEvent.data, recordId, object: opts.object ?? 'Lead' },
  };
}

async function publish(events: ForcehookEvent[], at?: number): Promise<void> {
  await kafka.producer().send(
    topics.events,
    events.map((e, i) => ({ ...toKafkaMessage(e), ...(at !== undefined ? { timestamp: String(at + i) } : {}) })),
  );
}

const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
const post = (path: string) => fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });

beforeEach(async () => {
  kafka = new MemoryKafka();
  await kafka.admin().ensureTopics(topicSpecs(topics, [1_000], 4));
  store = new ServiceStore({ client: kafka, stateTopic: topics.state, checkpointTopic: topics.checkpoints, logger: testLogger() });
  await store.start();
  await store.putConnection(CONNECTION);
  tail = new EventTail({ kafka, topics, groupPrefix: 't.tail', logger: testLogger() });
  const app = createHttpApp({
    apiToken: TOKEN,
    bodyLimit: '1mb',
    logger: testLogger(),
    metrics: createMetrics(),
    ready: async () => true,
    v1: [
      subscriptionsRouter({ store, box: {} as never, allowPrivateNetworks: true }),
      historyRouter({ kafka, topics, store, tail, groupPrefix: 't.history', logger: testLogger(), keepAliveMs: 50 }),
    ],
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  await tail.stop();
  await store.stop();
});

describe('GET /v1/events', () => {
  it('answers the newest events first, filtered, at most limit', async () => {
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    await publish(
      Array.from({ length: 40 }, (_, i) => lead(i, { object: i % 2 ? 'Contact' : 'Lead', type: i % 4 === 0 ? 'salesforce.record.updated' : undefined })),
      t0,
    );
    const res = await get('/v1/events?object=Lead&type=record.updated&limit=3');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: ForcehookEvent[] };
    expect(body.data.map((e) => e.id)).toEqual(['event-36', 'event-32', 'event-28']);
    expect(body.data[0]).toMatchObject({ specversion: '1.0', type: 'salesforce.record.updated', data: { object: 'Lead', recordId: expect.any(String) } });
  });

  it('reads by time: since and until bound the window', async () => {
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    await publish(
      Array.from({ length: 10 }, (_, i) => lead(i)),
      t0,
    );
    const since = new Date(t0 + 3).toISOString();
    const until = new Date(t0 + 6).toISOString();
    const body = (await (await get(`/v1/events?since=${since}&until=${until}`)).json()) as { data: ForcehookEvent[] };
    expect(body.data.map((e) => e.id)).toEqual(['event-5', 'event-4', 'event-3']);
  });

  it('stops at limit: reading the newest few of a long topic reads a small part of it', async () => {
    await publish(
      Array.from({ length: 2_000 }, (_, i) => lead(i)),
      Date.parse('2030-01-01T00:00:00Z'),
    );
    const out = await recentEvents({ kafka, topics, groupPrefix: 'g' }, { limit: 5 });
    expect(out.items.map((e) => e.id)).toEqual(['event-1999', 'event-1998', 'event-1997', 'event-1996', 'event-1995']);
    expect(out.scanned).toBeLessThan(500);
  });

  it('a record id with its connection reads only the partition of that record', async () => {
    const target = '00Q000000000777AAA';
    await publish([...Array.from({ length: 200 }, (_, i) => lead(i)), lead(900, { recordId: target }), lead(901, { recordId: target })]);
    const out = await recentEvents({ kafka, topics, groupPrefix: 'g', orgOf: () => TEST_ORG }, { connectionId: 'c1', recordId: target, limit: 10 });
    expect(out.items.map((e) => e.id)).toEqual(['event-901', 'event-900']);
    // Four partitions: about a quarter of the topic was read.
    expect(out.scanned).toBeLessThan(120);
  });

  it('refuses a bad query with the field named', async () => {
    const res = await get('/v1/events?limit=0');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('limit');
  });
});

describe('GET /v1/events/stream', () => {
  it('sends each new matching event as one data line, and stops the tail when the last client leaves', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/events/stream?object=Lead`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (pred: () => boolean) => {
      while (!pred()) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
      }
    };
    await readUntil(() => text.includes(': ready'));
    await publish([lead(1, { object: 'Contact' }), lead(2)]);
    await readUntil(() => text.includes('event-2'));
    const events = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as ForcehookEvent);
    expect(events.map((e) => e.id)).toEqual(['event-2']);
    expect(tail.listeners).toBe(1);
    ac.abort();
    await waitUntil(() => tail.listeners === 0, 5_000, 'the stream to be let go');
  });
});

describe('GET /v1/subscriptions/:id/deliveries and pause/resume', () => {
  const SUB = {
    id: 'sub-1',
    connectionId: 'c1',
    trigger: 'record.created' as const,
    object: 'Lead',
    destination: { type: 'webhook' as const, url: 'https://example.test/hook' },
    createdAt: '2030-01-01T00:00:00.000Z',
  };
  const entry = (i: number, status: AttemptEntry['status'], subscriptionId = SUB.id): AttemptEntry => ({
    subscriptionId,
    eventId: `event-${i}`,
    attempt: 1,
    at: new Date(Date.parse('2030-01-01T00:00:00Z') + i).toISOString(),
    status,
    durationMs: 12,
    ...(status === 'delivered' ? { responseStatus: 200 } : { responseStatus: 500, error: 'HTTP 500: boom' }),
  });

  it('lists the attempt log newest first, filtered by status, without other subscriptions', async () => {
    await store.putSubscription(SUB);
    const entries = [entry(1, 'delivered'), entry(2, 'failed'), entry(3, 'failed', 'other'), entry(4, 'dead'), entry(5, 'failed')];
    await kafka.producer().send(topics.attempts, entries.map(encodeAttempt));
    const all = (await (await get('/v1/subscriptions/sub-1/deliveries')).json()) as { data: Record<string, unknown>[] };
    expect(all.data.map((e) => [e.eventId, e.status])).toEqual([
      ['event-5', 'failed'],
      ['event-4', 'dead'],
      ['event-2', 'failed'],
      ['event-1', 'delivered'],
    ]);
    expect(all.data[0]).toEqual({
      eventId: 'event-5',
      attempt: 1,
      at: expect.any(String),
      status: 'failed',
      durationMs: 12,
      responseStatus: 500,
      error: 'HTTP 500: boom',
    });
    const failed = (await (await get('/v1/subscriptions/sub-1/deliveries?status=failed&limit=1')).json()) as { data: { eventId: string }[] };
    expect(failed.data.map((e) => e.eventId)).toEqual(['event-5']);
    expect((await get('/v1/subscriptions/nope/deliveries')).status).toBe(404);
  });

  it('pause and resume are fields of the subscription, shown as its state', async () => {
    await store.putSubscription(SUB);
    const paused = (await (await post('/v1/subscriptions/sub-1/pause')).json()) as { pausedAt?: string; delivery: { state: string } };
    expect(paused.pausedAt).toEqual(expect.any(String));
    expect(paused.delivery.state).toBe('paused');
    expect(store.subscription('sub-1')?.pausedAt).toBe(paused.pausedAt);
    const listed = (await (await get('/v1/subscriptions')).json()) as { data: { id: string; delivery: { state: string } }[] };
    expect(listed.data[0]?.delivery.state).toBe('paused');
    const resumed = (await (await post('/v1/subscriptions/sub-1/resume')).json()) as { pausedAt?: string; delivery: { state: string } };
    expect(resumed.pausedAt).toBeUndefined();
    expect(resumed.delivery.state).toBe('active');
    expect(store.subscription('sub-1')?.pausedAt).toBeUndefined();
    expect((await post('/v1/subscriptions/nope/pause')).status).toBe(404);
  });
});
