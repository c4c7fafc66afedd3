/**
 * Each metric on /metrics moves when its cause
 * happens. One org follows Lead by CDC and Account by polling; both deliver to a
 * webhook nobody listens on, so deliveries fail, wait in the retry tier, then
 * reach the dead-letter topic. Faults of the emulator make the stream reconnect
 * and the grant disappear. Also: every path+method of /openapi.json exists on the
 * running service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  API_TOKEN,
  adminCall,
  createOrg,
  orgUser,
  startTestEmulator,
  startTestService,
  waitUntil,
  type OrgCredentials,
  type TestService,
} from '../../testkit/service.js';

type Labels = Record<string, string>;

/** Prometheus text → samples; enough of the format for prom-client's output. */
function parse(text: string): { name: string; labels: Labels; value: number }[] {
  const out: { name: string; labels: Labels; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

let emulator: RunningEmulator;
let svc: TestService;
let org: OrgCredentials;
let connectionId: string;
const DEAD_URL = 'http://127.0.0.1:9/hook';

async function scrape() {
  const res = await fetch(`${svc.service.url}/metrics`);
  expect(res.status).toBe(200);
  return parse(await res.text());
}

/** Sum of the series of `name` whose labels include `labels`; undefined when there is none. */
async function value(name: string, labels: Labels = {}): Promise<number | undefined> {
  const hits = (await scrape()).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length === 0 ? undefined : hits.reduce((n, s) => n + s.value, 0);
}

async function waitForValue(name: string, labels: Labels, pred: (v: number) => boolean, timeoutMs = 30_000): Promise<number> {
  let last: number | undefined;
  await waitUntil(
    async () => {
      last = await value(name, labels);
      return last !== undefined && pred(last);
    },
    timeoutMs,
    `${name}${JSON.stringify(labels)} (last: ${last})`,
  );
  return last!;
}

beforeAll(async () => {
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url, { cdcEntities: ['Lead'] });
  // Second attempt 3 s after the first, then the dead-letter topic: both stages are observable.
  svc = await startTestService({ prefix: uniquePrefix('metrics'), retrySchedule: [3_000] });
  const created = await svc.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(created.status).toBe(201);
  connectionId = created.body.id;
  for (const object of ['Lead', 'Account']) {
    const r = await svc.api('POST', '/v1/subscriptions', { connectionId, trigger: 'record.created', object, destination: { type: 'webhook', url: DEAD_URL } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
  await waitUntil(
    async () => {
      const r = await svc.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
      const mode = Object.fromEntries(r.body.objects.map((o) => [o.object, o.mode]));
      return r.body.subscriber === 'running' && mode.Lead === 'cdc' && mode.Account === 'polling';
    },
    30_000,
    'Lead by CDC and Account by polling',
  );
  // Let the first poll set the cursor, so the Account created below is a change, not history.
  await new Promise((r) => setTimeout(r, 1_500));
});

afterAll(async () => {
  await svc?.stop();
  await emulator?.close();
});

describe('metrics', () => {
  it('reports connections, subscribers and followed objects from live state', async () => {
    expect(await value('forcehook_connections', { status: 'active' })).toBe(1);
    expect(await value('forcehook_connections', { status: 'needs_reauth' })).toBe(0);
    expect(await value('forcehook_org_subscribers', { state: 'running' })).toBe(1);
    expect(await value('forcehook_followed_objects', { mode: 'cdc' })).toBe(1);
    expect(await value('forcehook_followed_objects', { mode: 'polling' })).toBe(1);
  });

  it('counts a change once for its trigger and mode; publish latency and per-org lag follow', async () => {
    const cdcBefore = (await value('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'cdc' })) ?? 0;
    const pollBefore = (await value('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'polling' })) ?? 0;
    const latencyBefore = (await value('forcehook_publish_latency_seconds_count')) ?? 0;
    const user = orgUser(org);

    await user.sobject('Lead').create({ LastName: 'Hopper', Company: 'Navy' });
    await waitForValue('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'cdc' }, (v) => v === cdcBefore + 1);
    await user.sobject('Account').create({ Name: 'Eckert-Mauchly' });
    await waitForValue('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'polling' }, (v) => v === pollBefore + 1);
    // A second look: nothing else was counted meanwhile (each change is counted once).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await value('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'cdc' })).toBe(cdcBefore + 1);
    expect(await value('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'polling' })).toBe(pollBefore + 1);

    expect(await value('forcehook_publish_latency_seconds_count')).toBeGreaterThanOrEqual(latencyBefore + 2);
    const ids = { connection_id: connectionId, org_id: org.orgId };
    const lag = await value('forcehook_org_lag_seconds', ids);
    expect(lag).toBeGreaterThanOrEqual(0);
    // The Account was polled (interval 1 s): its lag is seconds, not minutes.
    expect(lag).toBeLessThan(30);
    const last = (await value('forcehook_org_last_change_timestamp_seconds', ids))!;
    expect(Math.abs(Date.now() / 1000 - last)).toBeLessThan(60);
  });

  it('reports the API requests the org used and its limit after polling', async () => {
    const ids = { connection_id: connectionId, org_id: org.orgId };
    const used = await waitForValue('forcehook_org_api_requests_used', ids, (v) => v > 0);
    expect(await value('forcehook_org_api_requests_limit', ids)).toBe(10_000_000);
    // Polling every second keeps spending calls: the gauge follows.
    await waitForValue('forcehook_org_api_requests_used', ids, (v) => v > used, 15_000);
  });

  it('counts failed attempts, holds retries in the backlog, then dead-letters them', async () => {
    // Both changes above were delivered to a dead endpoint.
    await waitForValue('forcehook_delivery_attempts_total', { type: 'webhook', outcome: 'retry' }, (v) => v >= 1);
    expect(await value('forcehook_delivery_attempts_total', { type: 'webhook', outcome: 'delivered' })).toBeUndefined();
    const user = orgUser(org);
    await user.sobject('Lead').create({ LastName: 'Backus', Company: 'IBM' });
    await waitForValue('forcehook_delivery_retry_backlog', {}, (v) => v >= 1, 20_000);
    await waitForValue('forcehook_delivery_dead_lettered_total', { reason: 'exhausted' }, (v) => v >= 1, 30_000);
    await waitForValue('forcehook_delivery_dlq_size', {}, (v) => v >= 1, 15_000);
    // Once every retry was made, nothing waits any more.
    await waitForValue('forcehook_delivery_retry_backlog', {}, (v) => v === 0, 30_000);
  });

  it('counts streaming reconnects when the server drops the client', async () => {
    const labels = { connection_id: connectionId, org_id: org.orgId };
    const before = (await value('forcehook_streaming_reconnects_total', labels)) ?? 0;
    const r = await adminCall<{ dropped: number }>(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'drop-streaming-clients' });
    expect(r.dropped).toBeGreaterThan(0);
    await waitForValue('forcehook_streaming_reconnects_total', labels, (v) => v > before);
    // And it comes back: a change made now is still detected by CDC.
    await waitForValue('forcehook_org_subscribers', { state: 'running' }, (v) => v === 1);
    const cdcBefore = (await value('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'cdc' })) ?? 0;
    await orgUser(org).sobject('Lead').create({ LastName: 'Liskov', Company: 'MIT' });
    await waitForValue('forcehook_changes_detected_total', { trigger: 'record.created', mode: 'cdc' }, (v) => v === cdcBefore + 1);
  });

  it('serves every documented route (none answers "no route")', async () => {
    const doc = (await (await fetch(`${svc.service.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of ['get', 'post', 'delete']) {
        if (!item[method]) continue;
        const url = `${svc.service.url}${path.replace('{id}', 'no-such-id')}`;
        const ac = new AbortController();
        const res = await fetch(url, {
          method: method.toUpperCase(),
          redirect: 'manual',
          signal: ac.signal,
          headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
          ...(method === 'post' ? { body: '{}' } : {}),
        });
        // A live stream (Server-Sent Events) never ends: its headers are the answer.
        if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
          expect(res.status, `${method} ${path}`).toBe(200);
          ac.abort();
          continue;
        }
        const text = await res.text();
        expect(text, `${method} ${path}`).not.toContain('no route');
      }
    }
  });

  it('shows a revoked grant as needs_reauth', async () => {
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'revoke-refresh-tokens' });
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-access-tokens' });
    await waitForValue('forcehook_connections', { status: 'needs_reauth' }, (v) => v === 1);
    expect(await value('forcehook_connections', { status: 'active' })).toBe(0);
  });
});
