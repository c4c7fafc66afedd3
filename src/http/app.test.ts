import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { z } from 'zod';
import { createHttpApp } from './app.js';
import { parseBody } from './validate.js';
import { createMetrics } from '../observability/metrics.js';
import { testLogger } from '../core/log.js';

const TOKEN = 'test-token-0123456789abcdef';
let server: Server;
let base: string;
let ready = true;

beforeAll(async () => {
  const r = express.Router();
  const Body = z.object({ name: z.string().min(1), nested: z.object({ n: z.number().int() }) }).strict();
  r.post('/things', (req, res) => {
    const body = parseBody(req, Body);
    res.status(201).json(body);
  });
  r.get('/boom', () => {
    throw new Error('secret internals');
  });
  const app = createHttpApp({ apiToken: TOKEN, bodyLimit: '1kb', logger: testLogger(), metrics: createMetrics(), ready: async () => ready, v1: [r] });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe('HTTP skeleton', () => {
  it('answers /healthz and /readyz by readiness', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    ready = false;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('serves Prometheus text on /metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('forcehook_http_requests_total');
  });

  it.each([
    [{}, 'missing bearer token'],
    [{ authorization: 'Bearer wrong' }, 'invalid bearer token'],
    [{ authorization: `Basic ${TOKEN}` }, 'missing bearer token'],
  ])('refuses /v1 without the right token (%#)', async (headers, message) => {
    const res = await fetch(`${base}/v1/things`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('UNAUTHORIZED');
    expect(body.error.message).toContain(message);
  });

  it('answers malformed JSON with 400, never 500', async () => {
    const res = await fetch(`${base}/v1/things`, { method: 'POST', headers: auth, body: '{"name": ' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('not valid JSON');
  });

  it('names the failing field', async () => {
    const res = await fetch(`${base}/v1/things`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x', nested: { n: 1.5 } }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; details: unknown[] } };
    expect(body.error.code).toBe('VALIDATION');
    expect(body.error.message).toMatch(/^body\.nested\.n: /);
  });

  it('answers an oversized body with 413', async () => {
    const res = await fetch(`${base}/v1/things`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x'.repeat(5000) }) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('hides internals of unexpected errors and answers unknown routes with 404 JSON', async () => {
    const boom = await fetch(`${base}/v1/boom`, { headers: auth });
    expect(boom.status).toBe(500);
    expect(await boom.text()).not.toContain('secret internals');
    const nf = await fetch(`${base}/v1/nope`, { headers: auth });
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('accepts a valid body', async () => {
    const res = await fetch(`${base}/v1/things`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x', nested: { n: 2 } }) });
    expect(res.status).toBe(201);
  });
});
