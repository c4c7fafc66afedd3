/** Helpers for the emulator's own tests: they drive it only through jsforce, faye and fetch. */
import { readFileSync } from 'node:fs';
import jsforce from 'jsforce';
import { testLogger } from '../../src/core/log.js';
import type { OrgCredentials } from '../../src/emulator/emulator.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/server.js';

export type { OrgCredentials };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export function fixture(name: string): Any {
  return JSON.parse(readFileSync(new URL(`../../src/emulator/fixtures/${name}`, import.meta.url), 'utf8'));
}

export async function start(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ logger: testLogger(), connectTimeoutMs: 1000, ...opts });
}

export async function admin(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function newOrg(url: string, body: Record<string, unknown> = {}): Promise<OrgCredentials> {
  const r = await admin(url, 'POST', '/__emulator/orgs', body);
  if (r.status !== 201) throw new Error(`org creation failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as OrgCredentials;
}

/** A Connection set up the way the service sets up its own: refresh token only, jsforce gets the session. */
export function connect(org: OrgCredentials, version = '59.0'): jsforce.Connection {
  return new jsforce.Connection({
    oauth2: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret },
    instanceUrl: org.instanceUrl,
    refreshToken: org.refreshToken,
    version,
  });
}

export async function expectSfError(p: Promise<unknown>): Promise<Any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a Salesforce error');
}

/** Raw REST call with a fresh session, to see status codes and headers jsforce hides. */
export async function rawRest(
  conn: jsforce.Connection,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Any }> {
  const res = await fetch(`${conn.instanceUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${conn.accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Raw Bayeux, so every field of a refusal is visible. */
export class RawBayeux {
  cookies = new Map<string, string>();
  clientId = '';
  private seq = 0;
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  async post(messages: Any[]): Promise<Any[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `OAuth ${this.token}` };
    if (this.cookies.size > 0) headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(`${this.url}/cometd/59.0`, { method: 'POST', headers, body: JSON.stringify(messages) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return (await res.json()) as Any[];
  }

  async handshake(): Promise<Any> {
    const [hs] = await this.post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: String(++this.seq) }]);
    if (hs.successful) this.clientId = hs.clientId;
    return hs;
  }

  async subscribe(channel: string, replay?: Record<string, number>): Promise<Any> {
    const [r] = await this.post([
      { channel: '/meta/subscribe', clientId: this.clientId, subscription: channel, id: String(++this.seq), ...(replay ? { ext: { replay } } : {}) },
    ]);
    return r;
  }

  /** One connect; the events it carried and its own reply. */
  async connect(): Promise<{ events: Any[]; reply: Any }> {
    const msgs = await this.post([{ channel: '/meta/connect', clientId: this.clientId, connectionType: 'long-polling', id: String(++this.seq) }]);
    return { events: msgs.filter((m) => m.channel !== '/meta/connect'), reply: msgs.find((m) => m.channel === '/meta/connect') };
  }
}
