/**
 * A webhook secret leaked: the operator rotates it, and rotates again at once to
 * cut the leaked one's 24 h overlap short. Only the newest secret and the one it
 * replaced may sign; the leaked one must stop signing on the second rotation.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { createLogger, testLogger } from '../../src/core/log.js';
import { SecretBox } from '../../src/core/secrets.js';
import { subscriptionsRouter } from '../../src/api/subscriptions.js';
import { validSigners } from '../../src/deliver/webhook/sign.js';
import { createHttpApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { ServiceStore } from '../../src/state/store.js';

const TOKEN = 'test-token-0123456789abcdef';
const box = new SecretBox([randomBytes(32)]);
let server: Server;
let base: string;
let store: ServiceStore;

beforeAll(async () => {
  store = new ServiceStore({
    client: new MemoryKafka(),
    stateTopic: 't.state',
    checkpointTopic: 't.checkpoints',
    logger: createLogger({ name: 'test', level: 'silent' }),
  });
  await store.start();
  const now = new Date().toISOString();
  await store.putConnection({
    id: 'c1',
    orgId: '00D000000000001AAA',
    loginUrl: 'https://login.salesforce.com',
    instanceUrl: 'https://x.my.salesforce.com',
    clientId: 'c',
    clientSecret: 'x',
    refreshToken: 'x',
    status: 'active',
    createdAt: now,
    updatedAt: now,
  });
  const app = createHttpApp({
    apiToken: TOKEN,
    bodyLimit: '16kb',
    logger: testLogger(),
    metrics: createMetrics(),
    ready: async () => true,
    v1: [subscriptionsRouter({ store, box, allowPrivateNetworks: true })],
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  await store.stop();
});

async function call(method: string, path: string, body?: unknown): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${base}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.status).toBeLessThan(300);
  return (await res.json()) as { id: string; secret: string };
}

/** Which of `secrets` sign a delivery made now. */
function signing(subscriptionId: string, secrets: string[]): boolean[] {
  const signatures = validSigners(store.subscription(subscriptionId)!, box, Date.now()).map((s) => s.sign('msg_1', 1_700_000_000, '{}'));
  return secrets.map((secret) => signatures.includes(new Webhook(secret).sign('msg_1', new Date(1_700_000_000_000), '{}')));
}

describe('rotating a webhook secret keeps at most one previous secret', () => {
  it('after two rotations the first (leaked) secret signs nothing; the newest and the one before it do', async () => {
    const created = await call('POST', '/subscriptions', {
      connectionId: 'c1',
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'https://receiver.example/hook' },
    });
    const leaked = created.secret;
    const second = (await call('POST', `/subscriptions/${created.id}/rotate-secret`)).secret;
    expect(signing(created.id, [leaked, second])).toEqual([true, true]);
    const third = (await call('POST', `/subscriptions/${created.id}/rotate-secret`)).secret;
    expect(signing(created.id, [leaked, second, third])).toEqual([false, true, true]);
    expect(store.subscription(created.id)!.secrets).toHaveLength(2);
  });
});
