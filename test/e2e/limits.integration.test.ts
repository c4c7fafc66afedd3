/**
 * Org-wide streaming limits, end to end: the daily event delivery allocation and the
 * concurrent Streaming API client limit. The service must not reconnect in a loop; it
 * polls the org with a warning and a metric until streaming is allowed again, then
 * resumes the stream from its checkpoint, and every change the org committed reaches
 * Kafka under the id the contract derives for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryPolicy } from '../../src/core/retry.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  adminCall,
  createOrg,
  expectedLeadEvents,
  orgUser,
  readEvents,
  startTestEmulator,
  startTestService,
  waitUntil,
  type OrgCredentials,
  type TestService,
} from '../../testkit/service.js';
import { follow as followOrg, viewConnection, type ConnectionView as View } from '../../testkit/connections.js';

let emulator: RunningEmulator;
let svc: TestService;
let reader: Awaited<ReturnType<typeof readEvents>>;
beforeAll(async () => {
  emulator = await startTestEmulator();
  const prefix = uniquePrefix('limits');
  // Streaming is tried again 2 s after a refusal (production: minutes), every 2 s.
  svc = await startTestService({ prefix, streamingLimitRetry: retryPolicy({ initialDelayMs: 2_000, multiplier: 1, maxDelayMs: 2_000, jitter: 0 }) });
  reader = await readEvents(prefix);
});
afterAll(async () => {
  await reader?.stop();
  await svc?.stop();
  await emulator?.close();
});

const view = (id: string): Promise<View> => viewConnection(svc.api, id);
const follow = (org: OrgCredentials): Promise<string> => followOrg(svc.api, org, { triggers: ['record.created', 'record.updated'] });

async function metric(name: string, orgId: string): Promise<number> {
  const text = await (await fetch(`${svc.service.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(`org_id="${orgId}"`)) sum += Number(line.split(' ').pop());
  return sum;
}

const seen = (id: string, detectedBy?: string) => (evs: { subject: string; data: { detectedBy: string } }[]) =>
  evs.some((e) => e.subject === id && (detectedBy === undefined || e.data.detectedBy === detectedBy));

describe('streaming limits', () => {
  it('the daily event allocation used up: polled with a warning and a metric, no reconnect loop, streamed again from the checkpoint once it frees', async () => {
    const org = await createOrg(emulator.url, { edition: 'developer' });
    const id = await follow(org);
    await waitUntil(
      async () => {
        const v = await view(id);
        return v.subscriber === 'running' && v.objects[0]?.mode === 'cdc';
      },
      20_000,
      'streaming',
    );
    const user = orgUser(org);
    const before = await user.sobject('Lead').create({ LastName: 'Before', Company: 'A' });
    await reader.waitFor(seen(before.id!, 'cdc'), 20_000, 'streamed before the limit');

    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'exhaust-event-allocation', hours: 1 });
    await waitUntil(async () => (await view(id)).warnings.some((w) => w.code === 'event_allocation_exhausted'), 20_000, 'the allocation warning');
    const limited = await view(id);
    expect(limited.objects).toEqual([expect.objectContaining({ object: 'Lead', mode: 'polling' })]);
    expect(limited.warnings[0]!.message).toMatch(/Organization total events daily limit exceeded/);

    // Changes go on, through polling.
    const during = await user.sobject('Lead').create({ LastName: 'During', Company: 'B' });
    await user.sobject('Lead').update({ Id: before.id!, Company: 'A2' });
    await reader.waitFor(seen(during.id!, 'polling'), 20_000, 'polled while limited');

    // No loop: over 5 s the org is tried at the retry pace (every 2 s), not hammered.
    const limitedBefore = await metric('forcehook_streaming_limited_total', org.orgId);
    const reconnectsBefore = await metric('forcehook_streaming_reconnects_total', org.orgId);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(limitedBefore).toBeGreaterThanOrEqual(1);
    expect((await metric('forcehook_streaming_limited_total', org.orgId)) - limitedBefore).toBeLessThanOrEqual(3);
    expect((await metric('forcehook_streaming_reconnects_total', org.orgId)) - reconnectsBefore).toBe(0);
    expect(await metric('forcehook_org_streaming_limited', org.orgId)).toBe(1);
    expect((await view(id)).warnings.map((w) => w.code)).toEqual(['event_allocation_exhausted']);

    // The allocation frees: streaming again, the warning gone, the stream live.
    await adminCall(emulator.url, 'POST', '/__emulator/clock', { advanceMs: 3_600_000 });
    await waitUntil(
      async () => {
        const v = await view(id);
        return v.warnings.length === 0 && v.objects[0]?.mode === 'cdc' && v.subscriber === 'running';
      },
      20_000,
      'streaming again',
    );
    expect(await metric('forcehook_org_streaming_limited', org.orgId)).toBe(0);
    const after = await user.sobject('Lead').create({ LastName: 'After', Company: 'C' });
    await reader.waitFor(seen(after.id!, 'cdc'), 20_000, 'streamed after the limit');

    // Nothing lost: every change of the org's log is on Kafka under its id.
    const expected = expectedLeadEvents(emulator, org);
    expect(expected.size).toBe(4);
    await reader.waitFor(
      (evs) => {
        const got = new Set(evs.map((e) => e.id));
        return [...expected.keys()].every((k) => got.has(k));
      },
      20_000,
      'every change under its id',
    );
  }, 120_000);

  it('a developer org with its 20 streaming clients taken: polled with a warning until a client slot frees', async () => {
    const org = await createOrg(emulator.url, { edition: 'developer' });
    // Someone else's 20 clients (another integration, a leaking one).
    const conn = orgUser(org);
    await conn.query('SELECT Id FROM User');
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${org.instanceUrl}/cometd/59.0`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `OAuth ${conn.accessToken}` },
        body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]),
      });
      expect(((await res.json()) as { successful: boolean }[])[0]!.successful).toBe(true);
    }
    const id = await follow(org);
    await waitUntil(async () => (await view(id)).warnings.some((w) => w.code === 'streaming_client_limit'), 20_000, 'the client limit warning');
    expect((await view(id)).objects[0]?.mode).toBe('polling');
    const during = await orgUser(org).sobject('Lead').create({ LastName: 'During', Company: 'B' });
    await reader.waitFor(seen(during.id!), 20_000, 'followed while no client slot is free');
    expect(await metric('forcehook_streaming_reconnects_total', org.orgId)).toBe(0);

    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'drop-streaming-clients' });
    await waitUntil(
      async () => {
        const v = await view(id);
        return v.warnings.length === 0 && v.objects[0]?.mode === 'cdc' && v.subscriber === 'running';
      },
      20_000,
      'streaming once a slot is free',
    );
    const after = await orgUser(org).sobject('Lead').create({ LastName: 'After', Company: 'C' });
    await reader.waitFor(seen(after.id!, 'cdc'), 20_000, 'streamed');
  }, 90_000);
});
