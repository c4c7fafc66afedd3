/**
 * "The dispatcher killed with kill -9 in the middle of a retry loses
 * nothing". The service runs as its own process; the endpoint answers 500, the
 * deliveries are in the retry loop, the process is SIGKILLed (no shutdown hook
 * runs), a new process starts on the same topics, the endpoint recovers, and
 * every event arrives.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { spawnForcehook, type Spawned } from '../../testkit/process.js';
import { API_TOKEN, SECRET_KEY, createOrg, startTestEmulator, waitUntil } from '../../testkit/service.js';
import { produceEvents, syntheticEvent } from '../../testkit/events.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';

let emulator: RunningEmulator;
let rx: Receiver;
const procs: Spawned[] = [];

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await Promise.allSettled(procs.map((p) => p.kill('SIGKILL')));
  await rx?.close();
  await emulator?.close();
});

it('kill -9 in the middle of a retry loop loses nothing', async () => {
  const prefix = uniquePrefix('delivery-kill');
  const env = {
    KAFKA_BROKERS: testBrokers().join(','),
    FORCEHOOK_HTTP_PORT: '0',
    FORCEHOOK_API_TOKEN: API_TOKEN,
    FORCEHOOK_SECRET_KEY: SECRET_KEY,
    FORCEHOOK_TOPIC_PREFIX: prefix,
    FORCEHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    FORCEHOOK_SALESFORCE_HOSTS: '127.0.0.1',
    FORCEHOOK_RETRY_SCHEDULE: '500ms,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s',
    LOG_LEVEL: 'warn',
  };
  const start = async () => {
    const p = await spawnForcehook(['serve'], env);
    procs.push(p);
    const url = String(p.ready.url);
    const api = async <T>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as T };
    };
    await waitUntil(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 'readyz');
    return { p, api };
  };

  let healthy = false;
  rx = await startReceiver({ behave: () => (healthy ? { status: 200 } : { status: 500 }) });
  const org = await createOrg(emulator.url);
  const first = await start();
  const conn = await first.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(conn.status).toBe(201);
  const sub = await first.api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
    connectionId: conn.body.id,
    trigger: 'record.created',
    object: 'Lead',
    destination: { type: 'webhook', url: rx.url },
  });
  expect(sub.status).toBe(201);
  rx.secrets = [sub.body.secret];

  const sent = Array.from({ length: 20 }, (_, i) => syntheticEvent({ orgId: org.orgId, connectionId: conn.body.id }, i, { recordSuffix: 'KILL' }));
  await produceEvents(prefix, sent, testBrokers());
  // Mid-loop: attempts failed (the breaker then short-circuits the rest onto the
  // retry topics), and retry records came back around at least once.
  await waitUntil(() => rx.requests >= 5, 30_000, 'failed attempts');
  await new Promise((r) => setTimeout(r, 2_000));
  const failedBefore = rx.requests;
  first.p.child.kill('SIGKILL');
  await first.p.exited;

  healthy = true;
  const t0 = Date.now();
  await start();
  await waitUntil(() => new Set(rx.ids()).size === sent.length, 60_000, 'every event after the restart');
  console.log(
    `[kill -9] ${failedBefore} failed requests before the kill; all ${sent.length} events delivered ${Date.now() - t0} ms after the restart began (${rx.received.length} deliveries incl. duplicates)`,
  );
  expect(new Set(rx.ids())).toEqual(new Set(sent.map((e) => e.id)));
  expect(rx.invalid).toEqual([]);
});
