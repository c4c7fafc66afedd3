/** Helpers for the emulator's own tests: they drive it only through jsforce, faye and fetch. */
import { readFileSync } from 'node:fs';
import jsforce from 'jsforce';
import { testLogger } from '../core/log.js';
import type { OrgCredentials } from './emulator.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from './server.js';

export type { OrgCredentials };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export function fixture(name: string): Any {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
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

export async function waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Raw REST call with a fresh session, to see status codes and headers jsforce hides. */
export async function rawRest(conn: jsforce.Connection, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Any }> {
  const res = await fetch(`${conn.instanceUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${conn.accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
