/**
 * An org that moves to another instance (fault move-instance): the old instance refuses
 * its sessions, refreshes report the new one. The service must follow it, REST and
 * streaming, remember it on the connection, and lose nothing.
 */
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  adminCall,
  createOrg,
  expectedLeadEvents,
  readEvents,
  startTestEmulator,
  startTestService,
  waitUntil,
  type OrgCredentials,
  type TestService,
} from '../../testkit/service.js';
import { viewConnection } from '../../testkit/connections.js';

let emulator: RunningEmulator;
let svc: TestService;
let reader: Awaited<ReturnType<typeof readEvents>>;
beforeAll(async () => {
  emulator = await startTestEmulator();
  const prefix = uniquePrefix('move');
  svc = await startTestService({ prefix });
  reader = await readEvents(prefix);
});
afterAll(async () => {
  await reader?.stop();
  await svc?.stop();
  await emulator?.close();
});

/** A user of the org at a given instance (jsforce itself cannot follow a move: jsforce#1766). */
function userAt(org: OrgCredentials, instanceUrl: string): jsforce.Connection {
  return new jsforce.Connection({
    oauth2: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret },
    instanceUrl,
    refreshToken: org.refreshToken,
    version: '59.0',
  });
}

describe('an org that moves', () => {
  it('is followed at its new instance URL, streamed and polled, with nothing lost', async () => {
    // Lead streams, Contact is polled.
    const org = await createOrg(emulator.url, { cdcEntities: ['Lead'] });
    const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    for (const [trigger, object] of [
      ['record.created', 'Lead'],
      ['record.updated', 'Lead'],
      ['record.created', 'Contact'],
    ] as const) {
      expect(
        (
          await svc.api('POST', '/v1/subscriptions', {
            connectionId: c.body.id,
            trigger,
            object,
            destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
          })
        ).status,
      ).toBe(201);
    }
    const view = () => viewConnection(svc.api, c.body.id);
    await waitUntil(
      async () => {
        const v = await view();
        return v.subscriber === 'running' && v.objects.some((o) => o.object === 'Lead' && o.mode === 'cdc');
      },
      20_000,
      'streaming',
    );
    const before = await userAt(org, org.instanceUrl).sobject('Lead').create({ LastName: 'Before', Company: 'A' });
    await reader.waitFor((evs) => evs.some((e) => e.subject === before.id && e.data.detectedBy === 'cdc'), 20_000, 'streamed before the move');

    const moved = await adminCall<{ instanceUrl: string }>(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'move-instance' });
    expect(moved.instanceUrl).not.toBe(org.instanceUrl);
    const user = userAt(org, moved.instanceUrl);
    const lead = await user.sobject('Lead').create({ LastName: 'After', Company: 'B' });
    await user.sobject('Lead').update({ Id: before.id!, Company: 'A2' });
    const contact = await user.sobject('Contact').create({ LastName: 'Polled' });

    await reader.waitFor((evs) => evs.some((e) => e.subject === lead.id && e.data.detectedBy === 'cdc'), 30_000, 'streamed from the new instance');
    await reader.waitFor((evs) => evs.some((e) => e.subject === contact.id && e.data.detectedBy === 'polling'), 30_000, 'polled from the new instance');
    await waitUntil(async () => (await view()).instanceUrl === moved.instanceUrl, 10_000, 'the connection remembers the new instance');

    const expected = expectedLeadEvents(emulator, org);
    expect(expected.size).toBe(3);
    await reader.waitFor(
      (evs) => {
        const got = new Set(evs.map((e) => e.id));
        return [...expected.keys()].every((k) => got.has(k));
      },
      20_000,
      'every Lead change under its id',
    );
    expect((await view()).subscriber).toBe('running');
  }, 90_000);
});
