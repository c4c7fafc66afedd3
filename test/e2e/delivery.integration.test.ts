/**
 * Webhooks: events on `<prefix>.events` reach signed webhooks, through
 * the real broker. Receivers verify every request with `standardwebhooks` and
 * parse it with the cloudevents SDK. The retry schedule is scaled from hours
 * to hundreds of milliseconds (the schedule is data; the code path is the same).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type OrgCredentials, type TestService } from '../../testkit/service.js';
import { produceEvents, syntheticEvent } from '../../testkit/events.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';

const SCHEDULE = [200, 400, 800, 1_600, 3_200];

let emulator: RunningEmulator;
let org: OrgCredentials;
let svc: TestService;
let prefix: string;
let connectionId: string;
const receivers: Receiver[] = [];

interface SubView {
  id: string;
  secret?: string;
  delivery: { state: string; attempts: number; delivered: number; failures: number; dlqCount: number; lastError?: string; consecutiveFailures: number };
}

async function subscribe(receiver: Receiver, body: Record<string, unknown> = {}): Promise<string> {
  const r = await svc.api<SubView>('POST', '/v1/subscriptions', {
    connectionId,
    trigger: 'record.created',
    object: 'Lead',
    destination: { type: 'webhook', url: receiver.url },
    ...body,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  expect(r.body.secret).toMatch(/^whsec_/);
  receiver.secrets = [r.body.secret!];
  return r.body.id;
}

async function receiver(behave?: Receiver['behave']): Promise<Receiver> {
  const r = await startReceiver(behave ? { behave } : {});
  receivers.push(r);
  return r;
}

const view = async (id: string) => (await svc.api<SubView>('GET', `/v1/subscriptions/${id}`)).body;
const events = (n: number, suffix: string) =>
  Array.from({ length: n }, (_, i) => syntheticEvent({ orgId: org.orgId, connectionId }, i, { recordSuffix: suffix }));

beforeAll(async () => {
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url);
  prefix = uniquePrefix('delivery');
  svc = await startTestService({ prefix, retrySchedule: SCHEDULE });
  const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(c.status).toBe(201);
  connectionId = c.body.id;
});

afterAll(async () => {
  await Promise.allSettled(receivers.map((r) => r.close()));
  await svc?.stop();
  await emulator?.close();
});

describe('webhooks', () => {
  it('a Lead created in Salesforce arrives as a signed structured CloudEvent', async () => {
    const rx = await receiver();
    const id = await subscribe(rx);
    // Following is asynchronous: wait until the Lead channel is followed before changing data.
    await waitUntil(
      async () => {
        const r = await svc.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
        return r.body.subscriber === 'running' && r.body.objects.some((o) => o.object === 'Lead' && o.mode === 'cdc');
      },
      20_000,
      'Lead followed by cdc',
    );
    await new Promise((r) => setTimeout(r, 500));
    const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Hopper', Company: 'Navy' });
    await waitUntil(() => rx.received.some((x) => x.event.subject === lead.id), 30_000, 'the webhook');
    const got = rx.received.find((x) => x.event.subject === lead.id)!;
    expect(rx.invalid).toEqual([]);
    expect(got.headers['content-type']).toBe('application/cloudevents+json');
    expect(got.headers['webhook-id']).toBe(got.event.id);
    expect(got.event.type).toBe('salesforce.record.created');
    expect(got.event.source).toBe(`/salesforce/${org.orgId}`);
    expect((got.event.data as { record: { LastName: string } }).record.LastName).toBe('Hopper');
    await waitUntil(async () => (await view(id)).delivery.delivered >= 1, 10_000, 'delivery state');
    expect((await view(id)).delivery.state).toBe('active');
  });

  it('an endpoint answering 500 for a while receives every event once it recovers', async () => {
    let healthyFrom = Infinity;
    const rx = await receiver(() => (Date.now() < healthyFrom ? { status: 500, body: 'x'.repeat(100_000) } : { status: 200 }));
    healthyFrom = Date.now() + 2_500;
    const id = await subscribe(rx);
    const sent = events(30, 'FAIL');
    await produceEvents(prefix, sent, testBrokers());
    await waitUntil(() => new Set(rx.ids()).size === sent.length, 30_000, 'all 30 events');
    expect(rx.invalid).toEqual([]);
    expect(new Set(rx.ids())).toEqual(new Set(sent.map((e) => e.id)));
    expect(rx.requests).toBeGreaterThan(sent.length); // there were failures before
    const v = await view(id);
    expect(v.delivery.dlqCount).toBe(0);
    await waitUntil(async () => (await view(id)).delivery.state === 'active', 5_000, 'active again');
    console.log(`[500-then-200] requests=${rx.requests} delivered=${rx.received.length} unique=${new Set(rx.ids()).size}`);
  });

  it('exhausted deliveries go to the DLQ, are counted, and are redelivered on request', async () => {
    let ok = false;
    const rx = await receiver(() => (ok ? { status: 200 } : { status: 503 }));
    const id = await subscribe(rx);
    const sent = events(5, 'DEAD');
    await produceEvents(prefix, sent, testBrokers());
    await waitUntil(async () => (await view(id)).delivery.dlqCount === 5, 30_000, '5 dead letters');
    const v = await view(id);
    expect(v.delivery.state).toBe('failing');
    expect(v.delivery.lastError).toMatch(/HTTP 503|circuit open/);
    expect(rx.received).toHaveLength(0);
    ok = true;
    const r = await svc.api<{ count: number }>('POST', `/v1/subscriptions/${id}/redeliver`, { dlq: true });
    expect(r.status).toBe(202);
    expect(r.body.count).toBe(5);
    await waitUntil(() => new Set(rx.ids()).size === 5, 20_000, 'redelivered events');
    expect(new Set(rx.ids())).toEqual(new Set(sent.map((e) => e.id)));
    await waitUntil(async () => (await view(id)).delivery.dlqCount === 0, 5_000, 'dlq count back to 0');
    // A second request finds nothing new.
    const again = await svc.api<{ count: number }>('POST', `/v1/subscriptions/${id}/redeliver`, { dlq: true });
    expect(again.body.count).toBe(0);
  });

  it('410 Gone disables the subscription', async () => {
    const rx = await receiver(() => ({ status: 410 }));
    const id = await subscribe(rx);
    await produceEvents(prefix, events(3, 'GONE'), testBrokers());
    await waitUntil(async () => (await view(id)).delivery.state === 'disabled', 20_000, 'disabled');
    await waitUntil(async () => (await view(id)).delivery.dlqCount === 3, 20_000, '3 dead letters');
    expect(rx.requests).toBeLessThanOrEqual(3);
  });

  it('429 with Retry-After is honoured as the retry delay', async () => {
    const times: number[] = [];
    const rx = await receiver((_req, n) => {
      times.push(Date.now());
      return n === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 };
    });
    await subscribe(rx);
    await produceEvents(prefix, events(1, 'SLOW'), testBrokers());
    await waitUntil(() => rx.received.length === 1, 20_000, 'the retried event');
    const waited = times[1]! - times[0]!;
    console.log(`[429] Retry-After: 2 s → waited ${waited} ms (schedule's first delay is ${SCHEDULE[0]} ms)`);
    expect(waited).toBeGreaterThanOrEqual(1_900);
  });

  it('rotating the secret: during the overlap both signatures are sent and each verifies', async () => {
    const rx = await receiver();
    const id = await subscribe(rx);
    const old = rx.secrets[0]!;
    const rot = await svc.api<{ secret: string; previousSecretsValidUntil: string }>('POST', `/v1/subscriptions/${id}/rotate-secret`);
    expect(rot.status).toBe(200);
    expect(rot.body.secret).toMatch(/^whsec_/);
    expect(rot.body.secret).not.toBe(old);
    expect(Date.parse(rot.body.previousSecretsValidUntil) - Date.now()).toBeGreaterThan(23 * 3_600_000);
    rx.secrets = [rot.body.secret, old];
    await produceEvents(prefix, events(1, 'ROTA'), testBrokers());
    await waitUntil(() => rx.received.length === 1 || rx.invalid.length > 0, 20_000, 'the event');
    expect(rx.invalid).toEqual([]);
    expect(rx.received[0]!.verifiedWith).toEqual([0, 1]);
    expect(rx.received[0]!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
  });

  it('redeliver {from, to} re-sends that subscription’s events of the time range', async () => {
    const rx = await receiver();
    const id = await subscribe(rx);
    const from = new Date(Date.now() - 1).toISOString();
    const sent = events(4, 'RANG');
    await produceEvents(prefix, sent, testBrokers());
    await waitUntil(() => rx.received.length === 4, 20_000, 'first delivery');
    const to = new Date(Date.now() + 1).toISOString();
    const r = await svc.api<{ count: number }>('POST', `/v1/subscriptions/${id}/redeliver`, { from, to });
    expect(r.status).toBe(202);
    // Events of other tests in the range match this subscription too (same trigger): at least ours.
    expect(r.body.count).toBeGreaterThanOrEqual(4);
    await waitUntil(() => sent.every((e) => rx.ids().filter((x) => x === e.id).length === 2), 20_000, 'second delivery');
    const bad = await svc.api('POST', `/v1/subscriptions/${id}/redeliver`, { from: to, to: from });
    expect(bad.status).toBe(400);
  });

  it('a dead endpoint does not slow a healthy one', async () => {
    const healthy = await receiver();
    const healthyId = await subscribe(healthy, { trigger: 'record.updated' });
    const measure = async (suffix: string) => {
      const start = healthy.received.length;
      const sent = Array.from({ length: 40 }, (_, i) => syntheticEvent({ orgId: org.orgId, connectionId }, i, { recordSuffix: suffix, type: 'updated' }));
      const t0 = Date.now();
      await produceEvents(prefix, sent, testBrokers());
      await waitUntil(() => healthy.received.length - start === sent.length, 30_000, `healthy deliveries (${suffix})`);
      const lat = healthy.received
        .slice(start)
        .map((x) => x.at - t0)
        .sort((a, b) => a - b);
      return { p50: lat[Math.floor(lat.length / 2)]!, max: lat[lat.length - 1]! };
    };
    const alone = await measure('ALON');
    // Dead: accepts the connection, never answers (each attempt holds a slot until the 15 s timeout).
    const dead = await receiver(() => ({ status: 200, delayMs: 3_600_000 }));
    const deadId = await subscribe(dead, { trigger: 'record.updated' });
    const beside = await measure('BESI');
    console.log(
      `[head-of-line] healthy alone p50=${alone.p50} ms max=${alone.max} ms; beside a dead endpoint p50=${beside.p50} ms max=${beside.max} ms; dead endpoint got ${dead.requests} requests`,
    );
    expect(beside.max).toBeLessThan(alone.max + 2_000);
    expect(dead.requests).toBeGreaterThan(0);
    await svc.api('DELETE', `/v1/subscriptions/${deadId}`);
    await svc.api('DELETE', `/v1/subscriptions/${healthyId}`);
  });
});

describe('SSRF guard at subscribe time', () => {
  it('refuses loopback, private, link-local, metadata and names resolving to them', async () => {
    const strict = await startTestService({ prefix: uniquePrefix('delivery-ssrf'), allowPrivateNetworks: false });
    try {
      const c = await strict.api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      // The emulator itself is on loopback, so this service refuses the connection too: subscribe checks come first.
      const conn = c.status === 201 ? c.body.id : undefined;
      for (const url of ['https://127.0.0.1/h', 'https://10.0.0.1/h', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/h', 'https://localhost/h']) {
        const r = await strict.api<{ error: { code: string; message: string } }>('POST', '/v1/subscriptions', {
          connectionId: conn ?? 'x',
          trigger: 'record.created',
          object: 'Lead',
          destination: { type: 'webhook', url },
        });
        expect(r.status, url).toBe(400);
        if (conn) expect(r.body.error.message, url).toMatch(/private or reserved|resolves/);
      }
    } finally {
      await strict.stop();
    }
  });
});
