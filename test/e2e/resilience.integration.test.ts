/**
 * The durability claims, end to end: kill -9 in the middle of activity,
 * a replay window lost while the service was down, and the org-side faults.
 * "Every change" is read from the emulator's own change-event log, and each
 * must appear on Kafka under the id the contract derives for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { spawnForcehook, type Spawned } from '../../testkit/process.js';
import {
  API_TOKEN,
  SECRET_KEY,
  adminCall,
  createOrg,
  orgUser,
  readEvents,
  startTestEmulator,
  startTestService,
  transportEnv,
  CDC_TRANSPORTS,
  waitUntil,
  type OrgCredentials,
  type TestService,
  expectedLeadEvents,
  httpApi,
} from '../../testkit/service.js';
import { follow } from '../../testkit/connections.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

const connectAndSubscribe = (
  api: TestService['api'],
  org: OrgCredentials,
  triggers = ['record.created', 'record.updated', 'record.deleted', 'record.undeleted'],
) => follow(api, org, { triggers, running: true });

async function retryUser<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 5) throw err;
    }
  }
}

describe.each(CDC_TRANSPORTS)('durability over %s', (transport) => {
  it('kill -9 during steady activity, then restart: nothing missing, duplicates carry the same id', async () => {
    const prefix = uniquePrefix(`kill9-${transport}`);
    const org = await createOrg(emulator.url);
    const env = {
      KAFKA_BROKERS: testBrokers().join(','),
      FORCEHOOK_TOPIC_PREFIX: prefix,
      FORCEHOOK_API_TOKEN: API_TOKEN,
      FORCEHOOK_SECRET_KEY: SECRET_KEY,
      FORCEHOOK_HTTP_PORT: '0',
      FORCEHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      FORCEHOOK_SALESFORCE_HOSTS: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...transportEnv(emulator, transport),
    };
    const reader = await readEvents(prefix);
    let svc: Spawned | undefined = await spawnForcehook(['serve'], env);
    try {
      await waitUntil(async () => (await fetch(`${svc!.ready.url as string}/readyz`)).status === 200, 60_000, 'first instance ready');
      await connectAndSubscribe(httpApi(svc.ready.url as string), org);
      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/activity`, { perSecond: 40, objects: ['Lead'], seconds: 8 });
      // Killed mid-stream: once changes are flowing to Kafka.
      await reader.waitFor((evs) => evs.length >= 40, 30_000, 'events flowing before the kill');
      await svc.kill('SIGKILL');
      const seenBeforeKill = reader.events.length;
      // Down while the org keeps changing: the restart must pick those up from the checkpoint.
      await waitUntil(() => expectedLeadEvents(emulator, org).size >= seenBeforeKill + 40, 30_000, 'changes committed while the service is down');
      svc = await spawnForcehook(['serve'], env);
      const stats = () => adminCall<{ activity: unknown }>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
      await waitUntil(async () => (await stats()).activity === null, 30_000, 'the activity to run out');
      const expected = expectedLeadEvents(emulator, org);
      expect(expected.size).toBeGreaterThan(100);
      await reader.waitFor(
        (evs) => {
          const got = new Set(evs.map((e) => e.id));
          return [...expected.keys()].every((id) => got.has(id));
        },
        60_000,
        'every committed change on Kafka',
      );
      const received = reader.events;
      const unknown = received.filter((e) => !expected.has(e.id));
      expect(unknown.map((e) => `${e.type} ${e.subject} ${e.data.commitTimestamp}`)).toEqual([]);
      // Duplicates are allowed across a crash, and recognisable: same id, same content.
      const byId = new Map<string, string>();
      for (const e of received) {
        const body = JSON.stringify([e.type, e.subject, e.time]);
        expect(byId.get(e.id) ?? body).toBe(body);
        byId.set(e.id, body);
      }
      expect(seenBeforeKill).toBeGreaterThan(0);
    } finally {
      await svc?.kill('SIGTERM');
      await reader.stop();
    }
  }, 180_000);

  it('replay window lost while the service was down: the gap is reconciled through REST', async () => {
    const prefix = uniquePrefix(`gap-${transport}`);
    const org = await createOrg(emulator.url);
    const reader = await readEvents(prefix);
    let svc = await startTestService({ prefix, env: transportEnv(emulator, transport) });
    try {
      await connectAndSubscribe(svc.api, org);
      const user = orgUser(org);
      const kept = await user.sobject('Lead').create({ LastName: 'Kept', Company: 'A' });
      const doomed = await user.sobject('Lead').create({ LastName: 'Doomed', Company: 'B' });
      await reader.waitFor((e) => e.filter((x) => x.type === 'salesforce.record.created').length === 2, 20_000, 'first creates');
      await svc.stop();

      const born = await user.sobject('Lead').create({ LastName: 'Born while down', Company: 'C' });
      await user.sobject('Lead').update({ Id: kept.id!, Company: 'A2' });
      await user.sobject('Lead').destroy(doomed.id!);
      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-replay' });

      svc = await startTestService({ prefix, env: transportEnv(emulator, transport) });
      const want = [
        ['salesforce.record.created', born.id!],
        ['salesforce.record.updated', kept.id!],
        ['salesforce.record.deleted', doomed.id!],
      ] as const;
      await reader.waitFor((evs) => want.every(([t, id]) => evs.some((e) => e.type === t && e.subject === id)), 30_000, 'reconciled changes');
      for (const [t, id] of want) {
        const e = reader.events.find((x) => x.type === t && x.subject === id)!;
        expect(e.data.detectedBy).toBe('reconcile');
      }
      // The stream continues after the gap, live.
      const after = await user.sobject('Lead').create({ LastName: 'After', Company: 'D' });
      await reader.waitFor((evs) => evs.some((e) => e.subject === after.id && e.data.detectedBy === 'cdc'), 20_000, 'live event after the gap');
    } finally {
      await svc.stop();
      await reader.stop();
    }
  }, 120_000);
});

describe.each(CDC_TRANSPORTS)('org-side faults over %s', (transport) => {
  let svc: TestService;
  let prefix: string;
  let reader: Awaited<ReturnType<typeof readEvents>>;
  beforeAll(async () => {
    prefix = uniquePrefix(`faults-${transport}`);
    svc = await startTestService({ prefix, env: transportEnv(emulator, transport) });
    reader = await readEvents(prefix);
  });
  afterAll(async () => {
    await reader?.stop();
    await svc?.stop();
  });

  const created = (id: string) => (evs: { type: string; subject: string }[]) => evs.some((e) => e.type === 'salesforce.record.created' && e.subject === id);

  it.each([
    ['expire-access-tokens', {}],
    ['drop-streaming-clients', {}],
    ['fail-requests', { status: 503, count: 3 }],
    ['slow-requests', { ms: 1500, count: 3 }],
  ])(
    'keeps publishing through %s',
    async (kind, extra) => {
      const org = await createOrg(emulator.url);
      await connectAndSubscribe(svc.api, org);
      const user = orgUser(org);
      const before = await user.sobject('Lead').create({ LastName: 'Before', Company: 'X' });
      await reader.waitFor(created(before.id!), 20_000, 'before the fault');
      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind, ...extra });
      // The org's own faults hit every client of it, including this user's: retry as a user would.
      const after = await retryUser(() => orgUser(org).sobject('Lead').create({ LastName: 'After', Company: 'Y' }));
      await reader.waitFor(created(after.id!), 30_000, `after ${kind}`);
    },
    60_000,
  );

  it('a change made right after subscribing, before the stream is even set up, is published (first-follow catch-up)', async () => {
    const org = await createOrg(emulator.url);
    const user = orgUser(org);
    const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const s = await svc.api('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
    });
    expect(s.status).toBe(201);
    // No wait for the subscriber: a stream at -1 alone would never announce these.
    const early = await user.sobject('Lead').create({ LastName: 'Early', Company: 'X' });
    await waitUntil(
      async () => (await svc.api<{ subscriber: string }>('GET', `/v1/connections/${c.body.id}`)).body.subscriber === 'running',
      20_000,
      'subscriber running',
    );
    const next = await user.sobject('Lead').create({ LastName: 'Next', Company: 'X' });
    await reader.waitFor(created(early.id!), 20_000, 'the Lead created before the stream took effect');
    await reader.waitFor(created(next.id!), 20_000, 'the Lead created just after');
    expect(reader.events.find((e) => e.subject === early.id)?.data).toMatchObject({ detectedBy: 'reconcile' });
  });

  it('a revoked refresh token puts the connection in needs_reauth and stops its subscriber', async () => {
    const org = await createOrg(emulator.url);
    const id = await connectAndSubscribe(svc.api, org);
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'revoke-refresh-tokens' });
    await waitUntil(async () => (await svc.api<{ status: string }>('GET', `/v1/connections/${id}`)).body.status === 'needs_reauth', 30_000, 'needs_reauth');
    const view = (await svc.api<{ status: string; statusReason: string; subscriber: string }>('GET', `/v1/connections/${id}`)).body;
    expect(view.statusReason).toMatch(/invalid_grant/);
    expect(view.subscriber).toBe('stopped');
    const metrics = await (await fetch(`${svc.service.url}/metrics`)).text();
    expect(metrics).toMatch(/^forcehook_connections\{status="needs_reauth"\} [1-9]/m);
    // No retry loop: the org sees no further token requests.
    const calls = async () => (await adminCall<{ apiCalls: number }>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).apiCalls;
    const c1 = await calls();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await calls()).toBe(c1);
  }, 60_000);

  it('GAP events are completed from REST; overflow reconciles the entity', async () => {
    const org = await createOrg(emulator.url);
    await connectAndSubscribe(svc.api, org);
    const user = orgUser(org);
    const lead = await user.sobject('Lead').create({ LastName: 'Gappy', Company: 'G' });
    await reader.waitFor(created(lead.id!), 20_000, 'create');
    const now = Date.now();
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/changes`, {
      payload: {
        ChangeEventHeader: {
          entityName: 'Lead',
          recordIds: [lead.id],
          changeType: 'GAP_UPDATE',
          changeOrigin: '',
          transactionKey: 'gap-1',
          sequenceNumber: 1,
          commitTimestamp: now,
          commitNumber: 1,
          commitUser: '005000000000001AAA',
          changedFields: [],
        },
      },
    });
    await reader.waitFor(
      (evs) => evs.some((e) => e.type === 'salesforce.record.updated' && e.subject === lead.id && e.data.record.LastName === 'Gappy'),
      20_000,
      'gap completed',
    );
  }, 60_000);
});
