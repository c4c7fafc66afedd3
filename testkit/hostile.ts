/**
 * Hostile Salesforce stand-ins for the security tests: a recording listener (where a hostile
 * answer points; nothing may reach it) and a token endpoint an API client controls, which
 * passes calls on to the emulator and lies where the test tells it to.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningEmulator } from '../src/emulator/server.js';
import { uniquePrefix } from './kafka/brokers.js';
import { startTestEmulator, startTestService, type TestService } from './service.js';

export interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface Listener {
  url: string;
  port: number;
  seen: Seen[];
  /** TCP connections accepted, HTTP or not (a TLS handshake to it is one too). */
  connections(): number;
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>,
  host = '127.0.0.1',
): Promise<Listener & { server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    // Recorded on arrival: the headers (the bearer token) are what leaks, whether or not a body follows.
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((err: unknown) => {
        res.statusCode = 502;
        res.end(String(err));
      });
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen(0, host);
  await new Promise((ok) => server.once('listening', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Where a hostile answer points: it answers like a metadata service, and records who came. */
export function canary(): Promise<Listener> {
  return listen((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ AccessKeyId: 'ASIA-CANARY-SECRET', Code: 'Success' }));
  });
}

export interface FakeLogin extends Listener {
  /** What the token endpoint reports as `instance_url` (default: this host, which passes everything on to the emulator). */
  instanceUrl: string | undefined;
  /** What it reports as `id` (default: its own /id/... path, answered by the emulator). */
  identityUrl: ((emulatorId: string) => string) | undefined;
  /** Answer this instead of anything else under `/services/data/` (e.g. a redirect). */
  data: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'content-encoding']);

/**
 * A login (and instance) host an API client controls: it passes every request on to the
 * emulator, so the grant is real, and rewrites the token endpoint's answer as told.
 */
export async function fakeLogin(emulatorUrl: string): Promise<FakeLogin> {
  const state = { instanceUrl: undefined, identityUrl: undefined, data: undefined } as FakeLogin;
  let self = '';
  const l = await listen(async (req, res, body) => {
    const path = req.url ?? '/';
    if (state.data && path.startsWith('/services/data/')) return state.data(req, res);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && typeof v === 'string') headers[k] = v;
    const up = await fetch(new URL(path, emulatorUrl), {
      method: req.method ?? 'GET',
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
      redirect: 'manual',
    });
    let text = await up.text();
    if (path.startsWith('/services/oauth2/token') && up.ok) {
      const t = JSON.parse(text) as { id: string; instance_url: string };
      const idPath = new URL(t.id).pathname;
      t.id = state.identityUrl ? state.identityUrl(idPath) : `${self}${idPath}`;
      t.instance_url = state.instanceUrl ?? self;
      text = JSON.stringify(t);
    }
    res.statusCode = up.status;
    up.headers.forEach((v, k) => {
      if (!HOP.has(k)) res.setHeader(k, v);
    });
    res.end(text);
  });
  self = l.url;
  return Object.assign(state, { url: l.url, port: l.port, seen: l.seen, connections: l.connections, close: l.close });
}

/** What a security test attacks: an emulator, a service, a login host that lies for it, and a trap for anything it lures. */
export interface HostileStack {
  emulator: RunningEmulator;
  svc: TestService;
  fake: FakeLogin;
  trap: Listener;
  close(): Promise<void>;
}

export async function startHostileStack(name: string): Promise<HostileStack> {
  const emulator = await startTestEmulator();
  // Tests allow the emulator's host, 127.0.0.1 (FORCEHOOK_SALESFORCE_HOSTS): the fake login host lives there too.
  const svc = await startTestService({ prefix: uniquePrefix(name) });
  const fake = await fakeLogin(emulator.url);
  const trap = await canary();
  return {
    emulator,
    svc,
    fake,
    trap,
    async close() {
      await svc.stop();
      await fake.close();
      await trap.close();
      await emulator.close();
    },
  };
}
