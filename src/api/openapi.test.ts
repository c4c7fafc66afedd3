import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeysRouter } from './api-keys.js';
import { connectSessionsRouter, oauthCallbackRouter, type ConnectSessionDeps } from './connect-sessions.js';
import { connectionsRouter } from './connections.js';
import { historyRouter } from './history.js';
import { meRouter } from './me.js';
import { clusterRouter } from './cluster.js';
import { ConsoleLogins } from '../console/logins.js';
import { consoleRouter } from '../console/serve.js';
import { mappingsRouter } from './mappings.js';
import { subscriptionsRouter } from './subscriptions.js';
import { testLogger } from '../core/log.js';
import { createMetrics } from '../observability/metrics.js';
import { createHttpApp } from '../http/app.js';
import { buildOpenApiDocument } from './openapi.js';

const TOKEN = 'test-token-0123456789abcdef';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

// The routers read their dependencies only inside handlers: building the app needs none of them.
const stub = {} as never;

/** The app as service.ts composes it (same routers, same mount points). */
function serviceLikeApp(): Express {
  const sessionDeps = {
    box: stub,
    store: stub,
    connections: stub,
    publicUrl: () => 'http://x',
    allowPrivateNetworks: true,
    egress: stub,
    logger: testLogger(),
  } as ConnectSessionDeps;
  return createHttpApp({
    apiToken: TOKEN,
    bodyLimit: '1mb',
    logger: testLogger(),
    metrics: createMetrics(),
    ready: async () => true,
    openapi: buildOpenApiDocument,
    v1: [
      (_req, _res, next) => next(),
      connectionsRouter({ store: stub, connections: stub, runtime: stub, defaultCdcTransport: 'cometd' }),
      connectSessionsRouter(sessionDeps),
      mappingsRouter({ store: stub }),
      subscriptionsRouter({ store: stub, box: stub, allowPrivateNetworks: true }),
      historyRouter({ kafka: stub, topics: stub, store: stub, tail: stub, groupPrefix: 'x', logger: testLogger() }),
      apiKeysRouter({ store: stub }),
      meRouter(),
      clusterRouter({ kafka: stub, topics: stub, store: stub, prefix: 'x', retryDelaysMs: [], ownership: () => undefined }),
    ],
    public: [oauthCallbackRouter(sessionDeps), consoleRouter({ logins: new ConsoleLogins() })],
  });
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/** Every `METHOD /path` express routes, nested routers included, in OpenAPI path syntax. */
function expressRoutes(app: Express): Set<string> {
  const out = new Set<string>();
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
        for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.add(`${m.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

function documentedRoutes(doc: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of METHODS) if (item[m]) out.add(`${m.toUpperCase()} ${path}`);
  }
  return out;
}

describe('OpenAPI document', () => {
  const doc = buildOpenApiDocument();

  it('documents exactly the routes express has', () => {
    const routes = expressRoutes(serviceLikeApp());
    // Guards against a walker that silently finds nothing (then both sets would be checked against emptiness).
    expect(routes.size).toBeGreaterThanOrEqual(15);
    expect([...documentedRoutes(doc)].sort()).toEqual([...routes].sort());
  });

  it('notices a route added without documentation', () => {
    const app = serviceLikeApp();
    const extra = express.Router();
    extra.get('/undocumented', (_req, res) => res.end());
    (app as unknown as { router: { stack: Layer[] } }).router.stack.unshift(...(extra as unknown as { stack: Layer[] }).stack);
    expect(expressRoutes(app).has('GET /undocumented')).toBe(true);
    expect(documentedRoutes(doc).has('GET /undocumented')).toBe(false);
  });

  it('has the shape of an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'forcehook', version: expect.any(String) });
    const components = doc.components as { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> };
    expect(components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    // Every $ref resolves inside the document, and no JSON Schema root keywords leaked into components.
    const text = JSON.stringify(doc);
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) {
      expect(r).toMatch(/^#\/components\/schemas\//);
      expect(components.schemas[r.replace('#/components/schemas/', '')], r).toBeDefined();
    }
    expect(text).not.toContain('"$schema"');
    expect(text).not.toContain('"$defs"');
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>)) {
      for (const m of METHODS) if (item[m]) expect(Object.keys(item[m]!.responses ?? {}), `${m} ${path}`).not.toHaveLength(0);
      // Path templates and declared path parameters agree.
      const params = [...path.matchAll(/\{(\w+)\}/g)].map((x) => x[1]);
      const declared = ((item.parameters ?? []) as unknown as { name: string; in: string }[]).filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared.sort(), path).toEqual(params.sort());
    }
  });

  it('takes request bodies from the zod schemas the routes validate with', () => {
    const s = (doc.components as { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[]; additionalProperties?: unknown }> })
      .schemas;
    expect(s.CreateConnection!.required?.sort()).toEqual(['clientId', 'clientSecret', 'loginUrl', 'refreshToken']);
    expect(s.CreateConnection!.additionalProperties).toBe(false);
    expect(Object.keys(s.CreateSubscription!.properties!)).toEqual(['connectionId', 'trigger', 'object', 'campaignId', 'fields', 'mapping', 'destination']);
    expect(Object.keys(s.CreateConnectSession!.properties!)).toContain('oauthApp');
    expect(JSON.stringify(s.Redeliver)).toContain('"dlq"');
    expect(s.ForcehookEvent!.properties!.data).toEqual({ $ref: '#/components/schemas/ForcehookEventData' });
    const paths = doc.paths as Record<string, Record<string, { security?: unknown[] }>>;
    expect(paths['/v1/connections']!.post!.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/healthz']!.get!.security).toEqual([]);
  });
});

describe('GET /openapi.json', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = serviceLikeApp().listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('is served without a token', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths)).toContain('/v1/subscriptions/{id}/redeliver');
  });
});
