/**
 * A stranger without the API token sends a huge or malformed JSON body: it must
 * be turned away by authentication (401) before anything reads or parses the
 * body, not get a parser's 400/413 (work done, and an answer that tells the
 * parser's limits) for free.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../src/core/log.js';
import { createHttpApp } from '../../src/http/app.js';
import { createMetrics } from '../../src/observability/metrics.js';

const TOKEN = 'test-token-0123456789abcdef';
let server: Server;
let base: string;

beforeAll(async () => {
  const v1 = express.Router();
  v1.post('/things', (req, res) => void res.status(201).json(req.body));
  // A public router, as the service mounts the OAuth callback.
  const pub = express.Router();
  pub.get('/oauth/callback', (_req, res) => void res.json({ ok: true }));
  const app = createHttpApp({
    apiToken: TOKEN,
    bodyLimit: '1kb',
    logger: testLogger(),
    metrics: createMetrics(),
    ready: async () => true,
    v1: [v1],
    public: [pub],
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/things`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('an unauthenticated request with a body', () => {
  it('malformed JSON gets 401', async () => {
    expect((await post('{"not json')).status).toBe(401);
  });

  it('a body over the limit gets 401', async () => {
    expect((await post(JSON.stringify({ pad: 'x'.repeat(100_000) }))).status).toBe(401);
  });

  it('with the token, the body is parsed as before (and its errors answered)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await post('{"a":1}', auth)).status).toBe(201);
    expect((await post('{"not json', auth)).status).toBe(400);
    expect((await post(JSON.stringify({ pad: 'x'.repeat(100_000) }), auth)).status).toBe(413);
    expect((await fetch(`${base}/oauth/callback`)).status).toBe(200);
  });
});
