import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { createHttpApp } from '../http/app.js';
import { createMetrics } from '../observability/metrics.js';
import { meRouter } from '../api/me.js';
import { ConsoleLogins } from './logins.js';
import { consoleRouter } from './serve.js';

const TOKEN = 'test-token-0123456789abcdef';
let server: Server | undefined;

async function serve(bundleDir: string, logins = new ConsoleLogins()): Promise<string> {
  const app = createHttpApp({
    apiToken: TOKEN,
    bodyLimit: '1mb',
    logger: testLogger(),
    metrics: createMetrics(),
    ready: async () => true,
    v1: [meRouter()],
    public: [consoleRouter({ logins, bundleDir })],
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server!.once('listening', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
  server = undefined;
});

describe('GET /console', () => {
  it('serves the built page and its assets under a strict content security policy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'console-'));
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>forcehook console</title>');
    await writeFile(join(dir, 'app.js'), 'export {}');
    const base = await serve(dir);
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('forcehook console');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await fetch(`${base}/console/app.js`)).status).toBe(200);
  });

  it('says how to build it when the bundle is missing', async () => {
    const base = await serve(join(tmpdir(), 'no-such-console-bundle'));
    const res = await fetch(`${base}/console`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:console');
  });
});

describe('one-time sign-in links', () => {
  it('a token is traded for its key once, then refused; an unknown one is refused', async () => {
    const logins = new ConsoleLogins();
    const base = await serve(tmpdir(), logins);
    const token = logins.issue(TOKEN);
    expect(token).not.toContain(TOKEN);
    const redeem = (t: string) =>
      fetch(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: t }) });
    const first = await redeem(token);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ key: TOKEN });
    expect((await redeem(token)).status).toBe(401);
    expect((await redeem('nope')).status).toBe(401);
  });

  it('expires', () => {
    let now = 0;
    const logins = new ConsoleLogins(1_000, () => now);
    const token = logins.issue('k');
    now = 1_000;
    expect(logins.redeem(token)).toBeUndefined();
  });

  it('GET /v1/me tells the admin token from a key', async () => {
    const base = await serve(tmpdir());
    const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await me.json()).toEqual({ kind: 'admin', scopes: ['read', 'write'], manageKeys: true });
    expect((await fetch(`${base}/v1/me`)).status).toBe(401);
  });
});
