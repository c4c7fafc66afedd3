/**
 * The service process itself, and "a restarted instance rebuilds its state
 * from Kafka before /readyz turns 200".
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startLocalKafka } from '../../src/kafka/local/index.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { spawnForcehook } from '../../testkit/process.js';
import { API_TOKEN, SECRET_KEY, createOrg, startTestEmulator, startTestService, waitUntil } from '../../testkit/service.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/forcehook.js', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('forcehook serve', () => {
  it.each([
    ['FORCEHOOK_API_TOKEN', { KAFKA_BROKERS: '127.0.0.1:9', FORCEHOOK_SECRET_KEY: SECRET_KEY }],
    ['FORCEHOOK_SECRET_KEY', { KAFKA_BROKERS: '127.0.0.1:9', FORCEHOOK_API_TOKEN: API_TOKEN }],
    ['KAFKA_BROKERS', { FORCEHOOK_API_TOKEN: API_TOKEN, FORCEHOOK_SECRET_KEY: SECRET_KEY }],
  ])('without %s exits non-zero with one line naming it', (name, env) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FORCEHOOK_') && k !== 'KAFKA_BROKERS'));
    const r = spawnSync(process.execPath, [BIN, 'serve'], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
    expect(r.stdout).not.toContain('"event":"ready"');
  });

  it('/readyz answers 503 while the broker is down and 200 again when it is back, without a restart', async () => {
    const port = await freePort();
    let kafka = await startLocalKafka({ port });
    const svc = await spawnForcehook(['serve'], {
      KAFKA_BROKERS: kafka.brokers,
      FORCEHOOK_API_TOKEN: API_TOKEN,
      FORCEHOOK_SECRET_KEY: SECRET_KEY,
      FORCEHOOK_HTTP_PORT: '0',
      FORCEHOOK_TOPIC_PREFIX: uniquePrefix('readyz'),
      LOG_LEVEL: 'fatal',
    });
    const url = svc.ready.url as string;
    const readyz = async () => (await fetch(`${url}/readyz`)).status;
    try {
      await waitUntil(async () => (await readyz()) === 200, 60_000, 'ready');
      // /v1 without the token: 401 in the error format.
      const unauth = await fetch(`${url}/v1/connections`);
      expect(unauth.status).toBe(401);
      expect(((await unauth.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      const bad = await fetch(`${url}/v1/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: '{"loginUrl":',
      });
      expect(bad.status).toBe(400);

      await kafka.stop();
      await waitUntil(async () => (await readyz()) === 503, 30_000, '503 with the broker down');
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      kafka = await startLocalKafka({ port });
      await waitUntil(async () => (await readyz()) === 200, 60_000, '200 with the broker back');
    } finally {
      await svc.kill('SIGTERM');
      await kafka.stop();
    }
    expect(await svc.exited).toBe(0);
  }, 240_000);

  it('a restarted instance rebuilds connections and subscriptions from Kafka before it is ready', async () => {
    const emulator = await startTestEmulator();
    const prefix = uniquePrefix('rebuild');
    try {
      const org = await createOrg(emulator.url);
      const a = await startTestService({ prefix });
      const c = await a.api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      const s = await a.api<{ id: string }>('POST', '/v1/subscriptions', {
        connectionId: c.body.id,
        trigger: 'record.created',
        object: 'Lead',
        destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
      });
      await a.stop();
      const b = await startTestService({ prefix });
      try {
        expect((await fetch(`${b.service.url}/readyz`)).status).toBe(200);
        expect((await b.api<{ orgId: string }>('GET', `/v1/connections/${c.body.id}`)).body.orgId).toBe(org.orgId);
        expect((await b.api('GET', `/v1/subscriptions/${s.body.id}`)).status).toBe(200);
        // Secrets are stored sealed: nothing in the state topic reads like the refresh token.
        const raw = JSON.stringify(b.service.store.connections());
        expect(raw).not.toContain(org.refreshToken);
        expect(raw).not.toContain(org.clientSecret);
      } finally {
        await b.stop();
      }
    } finally {
      await emulator.close();
    }
  }, 120_000);
});
