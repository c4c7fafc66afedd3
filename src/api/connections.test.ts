import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { createHttpApp } from '../http/app.js';
import { createMetrics } from '../observability/metrics.js';
import type { ConnectionService } from '../salesforce/connections.js';
import type { ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { connectionsRouter } from './connections.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const record: ConnectionRecord = {
  id: 'c1',
  orgId: '00D000000000001AAA',
  loginUrl: 'https://login.example.com',
  instanceUrl: 'https://org.example.com',
  clientId: 'id',
  clientSecret: 'sealed',
  refreshToken: 'sealed',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

let server: Server;
let base: string;
const records = new Map<string, ConnectionRecord>([[record.id, record]]);
const connected: unknown[] = [];

beforeAll(async () => {
  const store = { connection: (id: string) => records.get(id), connections: () => [...records.values()], mappings: () => [] } as unknown as ServiceStore;
  const connections = {
    connect: (grant: unknown) => {
      connected.push(grant);
      return Promise.resolve(record);
    },
    setCdcTransport: (id: string, cdcTransport: 'pubsub' | 'cometd' | null) => {
      const { cdcTransport: _previous, ...rest } = records.get(id)!;
      const next = { ...rest, ...(cdcTransport ? { cdcTransport } : {}) };
      records.set(id, next);
      return Promise.resolve(next);
    },
  } as unknown as ConnectionService;
  const app = createHttpApp({
    apiToken: TOKEN,
    bodyLimit: '1mb',
    logger: testLogger(),
    metrics: createMetrics(),
    ready: async () => true,
    v1: [connectionsRouter({ store, connections, runtime: { status: () => undefined }, defaultCdcTransport: 'cometd' })],
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

const grant = { loginUrl: 'https://login.example.com', clientId: 'id', clientSecret: 'secret', refreshToken: 'rt' };

async function call(method: string, path: string, body: unknown) {
  const res = await fetch(`${base}/v1${path}`, { method, headers: auth, body: JSON.stringify(body) });
  return {
    status: res.status,
    body: (await res.json()) as { error?: { code: string; message: string }; cdcTransport?: string; cdcTransportIsDefault?: boolean },
  };
}

describe('a connection’s own CDC transport', () => {
  it('refuses an unknown transport at creation with a 400 naming the field, before touching the org', async () => {
    const r = await call('POST', '/connections', { ...grant, cdcTransport: 'kafka' });
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('VALIDATION');
    expect(r.body.error?.message).toMatch(/^body\.cdcTransport: /);
    expect(connected).toHaveLength(0);
  });

  it('passes a valid one on to the connection', async () => {
    const r = await call('POST', '/connections', { ...grant, cdcTransport: 'pubsub' });
    expect(r.status).toBe(201);
    expect(connected).toEqual([expect.objectContaining({ cdcTransport: 'pubsub' })]);
  });

  it('is set and cleared with PATCH; the view shows the effective transport and whether it is the default', async () => {
    const bad = await call('PATCH', '/connections/c1', { cdcTransport: 'grpc' });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/^body\.cdcTransport: /);

    const set = await call('PATCH', '/connections/c1', { cdcTransport: 'pubsub' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ cdcTransport: 'pubsub', cdcTransportIsDefault: false });

    const cleared = await call('PATCH', '/connections/c1', { cdcTransport: null });
    expect(cleared.body).toMatchObject({ cdcTransport: 'cometd', cdcTransportIsDefault: true });
    const seen = await fetch(`${base}/v1/connections/c1`, { headers: auth });
    expect(await seen.json()).toMatchObject({ cdcTransport: 'cometd', cdcTransportIsDefault: true });
  });
});
