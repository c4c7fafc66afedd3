/**
 * A read key writing: an API key made with the `read` scope must not change
 * anything (403 on every method but GET, on every route, API key management
 * included); only the admin token manages keys; a revoked key stops working on
 * every instance within seconds, without a restart; `/metrics` is closed when
 * FORCEHOOK_METRICS_TOKEN is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, startTestEmulator, startTestService, waitUntil, type TestService } from '../../testkit/service.js';

const METRICS_TOKEN = 'metrics-token-for-tests';

let emulator: RunningEmulator;
let a: TestService;
let b: TestService;
beforeAll(async () => {
  emulator = await startTestEmulator();
  const prefix = uniquePrefix('read-key');
  const env = { FORCEHOOK_METRICS_TOKEN: METRICS_TOKEN };
  [a, b] = await Promise.all([startTestService({ prefix, instanceId: 'a', env }), startTestService({ prefix, instanceId: 'b', env })]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await emulator?.close();
});

async function call(
  svc: TestService,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await fetch(`${svc.service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as never) : ({} as never) };
}

describe('scoped API keys', () => {
  it('a read key reads, and gets 403 for every write, on every route; only the admin token manages keys', async () => {
    const made = await a.api<{ id: string; name: string; scopes: string[]; key: string }>('POST', '/v1/api-keys', { name: 'dashboard', scopes: ['read'] });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: expect.any(String), name: 'dashboard', scopes: ['read'], key: expect.any(String) });
    const read = made.body.key;
    const rw = (await a.api<{ key: string }>('POST', '/v1/api-keys', { name: 'automation', scopes: ['read', 'write'] })).body.key;
    // The key is shown once: the list carries no key material.
    const list = await a.api<{ data: Record<string, unknown>[] }>('GET', '/v1/api-keys');
    expect(list.body.data.find((k) => k.id === made.body.id)).toEqual({ id: made.body.id, name: 'dashboard', scopes: ['read'], createdAt: expect.any(String) });
    expect(JSON.stringify(list.body)).not.toContain(read.slice(-20));

    const org = await createOrg(emulator.url);
    const conn = await a.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(conn.status).toBe(201);
    const sub = await a.api<{ id: string }>('POST', '/v1/subscriptions', {
      connectionId: conn.body.id,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'https://hooks.example.com/x' },
    });
    expect(sub.status).toBe(201);

    // Reads work on both instances (the key lives in the shared state).
    for (const svc of [a, b]) {
      expect((await call(svc, read, 'GET', '/v1/connections')).status).toBe(200);
      expect((await call(svc, read, 'GET', `/v1/subscriptions/${sub.body.id}`)).status).toBe(200);
    }
    const writes: [string, string, unknown?][] = [
      ['POST', '/v1/connections', { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret, refreshToken: org.refreshToken }],
      ['DELETE', `/v1/connections/${conn.body.id}`],
      ['PUT', `/v1/connections/${conn.body.id}/credentials`, { refreshToken: org.refreshToken }],
      ['POST', '/v1/connect-sessions', { loginUrl: org.loginUrl, oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret } }],
      [
        'POST',
        '/v1/subscriptions',
        { connectionId: conn.body.id, trigger: 'record.created', object: 'Lead', destination: { type: 'webhook', url: 'https://hooks.example.com/y' } },
      ],
      ['DELETE', `/v1/subscriptions/${sub.body.id}`],
      ['POST', `/v1/subscriptions/${sub.body.id}/rotate-secret`],
      ['POST', `/v1/subscriptions/${sub.body.id}/redeliver`, { dlq: true }],
      ['PATCH', `/v1/subscriptions/${sub.body.id}`, {}],
      ['POST', '/v1/api-keys', { name: 'escalate', scopes: ['read', 'write'] }],
      ['DELETE', `/v1/api-keys/${made.body.id}`],
      ['PUT', '/v1/no-such-route', {}],
    ];
    for (const [method, path, body] of writes) {
      const r = await call(b, read, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error?.code, `${method} ${path}`).toBe('FORBIDDEN');
    }
    // Nothing changed.
    expect((await call(a, read, 'GET', `/v1/connections/${conn.body.id}`)).status).toBe(200);
    expect((await call(a, read, 'GET', `/v1/subscriptions/${sub.body.id}`)).status).toBe(200);

    // Key management is the admin token's alone, whatever the key's scopes.
    for (const key of [read, rw]) {
      expect((await call(a, key, 'GET', '/v1/api-keys')).status).toBe(403);
      expect((await call(a, key, 'POST', '/v1/api-keys', { name: 'x', scopes: ['read', 'write'] })).status).toBe(403);
    }
    // A read+write key writes.
    const written = await call(a, rw, 'POST', '/v1/subscriptions', {
      connectionId: conn.body.id,
      trigger: 'record.updated',
      object: 'Lead',
      destination: { type: 'webhook', url: 'https://hooks.example.com/z' },
    });
    expect(written.status).toBe(201);
    // A forged key of the right shape is refused.
    const forged = `${read.slice(0, -4)}AAAA` === read ? `${read.slice(0, -4)}BBBB` : `${read.slice(0, -4)}AAAA`;
    expect((await call(a, forged, 'GET', '/v1/connections')).status).toBe(401);
  });

  it('a key revoked on one instance is refused by the other within seconds', async () => {
    const made = await a.api<{ id: string; key: string }>('POST', '/v1/api-keys', { name: 'revoke-me', scopes: ['read', 'write'] });
    expect(made.status).toBe(201);
    await waitUntil(async () => (await call(b, made.body.key, 'GET', '/v1/connections')).status === 200, 5_000, 'the key works on b');
    expect((await a.api('DELETE', `/v1/api-keys/${made.body.id}`)).status).toBe(204);
    const revokedAt = Date.now();
    await waitUntil(async () => (await call(b, made.body.key, 'GET', '/v1/connections')).status === 401, 5_000, 'b refuses the revoked key');
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    expect((await call(a, made.body.key, 'GET', '/v1/connections')).status).toBe(401);
    expect((await a.api('DELETE', `/v1/api-keys/${made.body.id}`)).status).toBe(404);
  });

  it('/metrics needs FORCEHOOK_METRICS_TOKEN when it is set', async () => {
    expect((await fetch(`${a.service.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${a.service.url}/metrics`, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    const ok = await fetch(`${a.service.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('forcehook_');
  });
});
