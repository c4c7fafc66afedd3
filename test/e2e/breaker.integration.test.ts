/**
 * An endpoint that fails the first two attempts of every event, with the retry
 * schedule a user would set for a quick check (`FORCEHOOK_RETRY_SCHEDULE=1s,1s,2s`,
 * four attempts): five new Contacts in the org, through CDC, the real broker and
 * real webhooks. Five failures in a row open the subscription's circuit breaker;
 * while it is open no attempt may be used up, so every event still arrives on
 * its third attempt and nothing is dead-lettered.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type OrgCredentials, type TestService } from '../../testkit/service.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';

let emulator: RunningEmulator;
let org: OrgCredentials;
let svc: TestService;
let rx: Receiver;

beforeAll(async () => {
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url);
  svc = await startTestService({ prefix: uniquePrefix('breaker'), env: { FORCEHOOK_RETRY_SCHEDULE: '1s,1s,2s' } });
});

afterAll(async () => {
  await rx?.close();
  await svc?.stop();
  await emulator?.close();
});

it('an endpoint failing the first two attempts of every event receives every event on its third attempt', async () => {
  // Attempts per event, by webhook-id: the first two of each answer 500.
  const tries = new Map<string, number>();
  rx = await startReceiver({
    behave: (req) => {
      const id = String(req.headers['webhook-id']);
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      return n <= 2 ? { status: 500 } : { status: 200 };
    },
  });
  const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(c.status).toBe(201);
  const sub = await svc.api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
    connectionId: c.body.id,
    trigger: 'record.created',
    object: 'Contact',
    destination: { type: 'webhook', url: rx.url },
  });
  expect(sub.status).toBe(201);
  rx.secrets = [sub.body.secret];
  await waitUntil(
    async () => {
      const r = await svc.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${c.body.id}`);
      return r.body.subscriber === 'running' && r.body.objects.some((o) => o.object === 'Contact' && o.mode === 'cdc');
    },
    20_000,
    'Contact followed by cdc',
  );

  const contacts = await Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      orgUser(org)
        .sobject('Contact')
        .create({ LastName: `Breaker ${n}` }),
    ),
  );
  const ids = contacts.map((x) => x.id!);
  await waitUntil(() => ids.every((id) => rx.received.some((x) => x.event.subject === id)), 60_000, 'all five Contacts delivered');

  expect(rx.invalid).toEqual([]);
  for (const got of rx.received) expect(tries.get(got.event.id), got.event.subject).toBe(3);
  type View = { delivery: { attempts: number; failures: number; delivered: number; dlqCount: number } };
  await waitUntil(async () => (await svc.api<View>('GET', `/v1/subscriptions/${sub.body.id}`)).body.delivery.delivered === 5, 10_000, 'delivery counters');
  const v = (await svc.api<View>('GET', `/v1/subscriptions/${sub.body.id}`)).body.delivery;
  // Counted attempts are requests the endpoint received: three per event, none lost to the open breaker.
  expect(v).toMatchObject({ attempts: 15, failures: 10, delivered: 5, dlqCount: 0 });
  expect(rx.requests).toBe(15);
});
