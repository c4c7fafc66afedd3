import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../core/secrets.js';
import { EngineAttempt } from '../dispatcher/attempt.js';
import type { DeliveryAttempt } from '../types.js';
import { createWebhookExecutor, parseRetryAfter } from './executor.js';
import { Signer, validSigners } from './sign.js';
import { sealedPlace } from '../../state/records.js';

const box = new SecretBox([randomBytes(32)]);
const secret = `whsec_${randomBytes(32).toString('base64')}`;
let server: Server;
let base: string;
let reply: { status: number; headers?: Record<string, string>; body?: string } = { status: 200 };
let lastHeaders: Record<string, string> = {};
let lastBody = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastBody = Buffer.concat(chunks).toString('utf8');
      lastHeaders = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function attempt(url: string, now = Date.now()): DeliveryAttempt<'webhook'> {
  return {
    deliveryId: 'sub-1:evt-1',
    subscription: {
      id: 'sub-1',
      connectionId: 'c',
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url },
      secrets: [{ sealed: box.seal(secret, sealedPlace.webhookSecret('sub-1')), createdAt: new Date(now).toISOString() }],
      createdAt: new Date(now).toISOString(),
    },
    event: { specversion: '1.0', id: 'evt-1', source: '/salesforce/x', type: 'salesforce.record.created', data: { a: 1 } },
    attempt: 1,
    signal: new AbortController().signal,
    now: () => now,
  };
}

describe('webhook executor: status policy', () => {
  const exec = createWebhookExecutor({ allowPrivateNetworks: true }, { box });
  afterAll(() => exec.close?.());

  it('2xx is delivered; the request is signed Standard Webhooks v1 over the exact body', async () => {
    reply = { status: 204 };
    expect(await exec.execute(attempt(`${base}/ok`))).toEqual({ result: 'delivered', status: 204 });
    expect(lastHeaders['content-type']).toBe('application/cloudevents+json');
    expect(lastHeaders['webhook-id']).toBe('evt-1');
    expect(new Webhook(secret).verify(lastBody, lastHeaders)).toMatchObject({ id: 'evt-1', specversion: '1.0' });
  });

  it.each([
    [410, 'disable'],
    [500, 'retry'],
    [404, 'retry'],
    [400, 'retry'],
    [301, 'retry'],
  ])('HTTP %i → %s', async (status, result) => {
    reply = { status, headers: status === 301 ? { location: 'http://169.254.169.254/' } : {} };
    expect((await exec.execute(attempt(`${base}/s`))).result).toBe(result);
  });

  it('429 carries Retry-After; the response body is cut to a short snippet', async () => {
    reply = { status: 429, headers: { 'retry-after': '7' }, body: 'slow down '.repeat(20_000) };
    const out = await exec.execute(attempt(`${base}/s`));
    expect(out).toMatchObject({ result: 'retry', status: 429, retryAfterMs: 7_000 });
    expect((out as { error: string }).error.length).toBeLessThan(300);
  });

  it('a receiver that does not answer in time is a retriable timeout', async () => {
    const slow = createWebhookExecutor({ allowPrivateNetworks: true, totalTimeoutMs: 300 }, { box });
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const out = await slow.execute(attempt(`http://127.0.0.1:${(hang.address() as AddressInfo).port}/`));
      expect(out).toMatchObject({ result: 'retry' });
      expect((out as { error: string }).error).toMatch(/within 300 ms/);
    } finally {
      hang.closeAllConnections();
      hang.close();
      await slow.close?.();
    }
  });

  it("with the engine's budget (budgetMs) the attempt ends when the engine's signal says so, classified the same way", async () => {
    const slow = createWebhookExecutor({ allowPrivateNetworks: true, totalTimeoutMs: 300 }, { box });
    expect(slow.timeoutMs).toBe(300);
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const a = { ...attempt(`http://127.0.0.1:${(hang.address() as AddressInfo).port}/`), budgetMs: 300, signal: AbortSignal.timeout(300) };
      const out = await slow.execute(a);
      expect(out).toMatchObject({ result: 'retry' });
      expect((out as { error: string }).error).toMatch(/within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      hang.closeAllConnections();
      hang.close();
      await slow.close?.();
    }
  });

  it('an engine attempt aborted through onAbort (a stop) ends a hanging request at once; the signal is never made', async () => {
    const hang = createServer(() => undefined);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const base = attempt(`http://127.0.0.1:${(hang.address() as AddressInfo).port}/`);
      let signalMade = false;
      const Probe = class extends EngineAttempt {
        override get signal(): AbortSignal {
          signalMade = true;
          return super.signal;
        }
      };
      const a = new Probe(base.deliveryId, base.subscription, base.event, 1, 15_000, base.now);
      const started = Date.now();
      const out = exec.execute(a as unknown as DeliveryAttempt<'webhook'>);
      setTimeout(() => a.abort(new DOMException('stopping', 'AbortError')), 100);
      expect(await out).toMatchObject({ result: 'retry', error: expect.stringContaining('stopping') });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(signalMade).toBe(false);
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('a 2xx with a body past the cap is still delivered', async () => {
    reply = { status: 200, body: 'x'.repeat(200_000) };
    expect(await exec.execute(attempt(`${base}/big`))).toEqual({ result: 'delivered', status: 200 });
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter(new Date(60_000).toUTCString(), 0)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});

describe('webhook signing', () => {
  it('Signer signs exactly as the standardwebhooks package, with and without the whsec_ prefix', () => {
    const at = new Date(1_700_000_000_000);
    for (const body of ['{}', JSON.stringify({ a: 'é ü 漢字', b: 'x'.repeat(5_000) })]) {
      const expected = new Webhook(secret).sign('msg_1', at, body);
      expect(new Signer(secret).sign('msg_1', 1_700_000_000, body)).toBe(expected);
      expect(new Signer(secret.slice('whsec_'.length)).sign('msg_1', 1_700_000_000, body)).toBe(expected);
    }
  });

  it('opens a sealed secret once, not per delivery; a rotated-in secret is a new signer', () => {
    const now = Date.now();
    const sub = { id: 'sub-1', secrets: [{ sealed: box.seal(secret, sealedPlace.webhookSecret('sub-1')), createdAt: new Date(now).toISOString() }] };
    const first = validSigners(sub, box, now);
    expect(validSigners(sub, box, now)[0]).toBe(first[0]);
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    const rotated = {
      id: 'sub-1',
      secrets: [
        { sealed: box.seal(other, sealedPlace.webhookSecret('sub-1')), createdAt: new Date(now).toISOString() },
        { ...sub.secrets[0]!, expiresAt: new Date(now + 1_000).toISOString() },
      ],
    };
    const both = validSigners(rotated, box, now);
    expect(both).toHaveLength(2);
    expect(both[1]).toBe(first[0]);
    expect(both[0]!.sign('m', 1, 'b')).toBe(new Webhook(other).sign('m', new Date(1_000), 'b'));
    expect(validSigners(rotated, box, now + 2_000)).toHaveLength(1);
  });
});

describe('webhook executor: SSRF guard at connect time (allowPrivateNetworks false)', () => {
  const exec = createWebhookExecutor({ allowPrivateNetworks: false, connectTimeoutMs: 1_000 }, { box });
  afterAll(() => exec.close?.());

  it.each(['127.0.0.1', '10.0.0.1', '169.254.169.254', '[::1]', 'localhost'])('refuses %s without sending anything', async (host) => {
    const port = (server.address() as AddressInfo).port;
    const out = await exec.execute(attempt(`http://${host}:${port}/`));
    expect(out.result).toBe('dead');
    expect((out as { error: string }).error).toMatch(/egress policy/);
  });
});
