/**
 * Log lines an operator can follow: a run of the service (an org connected, a
 * Lead created, its webhook failing a while then accepted, the org's grant
 * revoked) is captured line by line and held to the rules the operations guide
 * states: a line about an org names its org and connection, a line about a
 * delivery its subscription and event, and a connection or subscription
 * changing state says so once, not once per retry.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { connect } from '../../testkit/connections.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';
import { adminCall, createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type OrgCredentials } from '../../testkit/service.js';

type Line = Record<string, unknown> & { msg: string; level: number };

const lines: Line[] = [];
let emulator: RunningEmulator;
let org: OrgCredentials;
let rx: Receiver;
let connectionId: string;
let subscriptionId: string;
let failing = true;

beforeAll(async () => {
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url);
  rx = await startReceiver({ behave: () => ({ status: failing ? 500 : 200 }) });
  const svc = await startTestService({ prefix: uniquePrefix('logs'), logger, retrySchedule: [200, 400, 800, 1_600] });
  try {
    connectionId = await connect(svc.api, org);
    const s = await svc.api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
      connectionId,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: rx.url },
    });
    subscriptionId = s.body.id;
    rx.secrets = [s.body.secret];
    await waitUntil(
      async () => {
        const r = await svc.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
        return r.body.subscriber === 'running' && r.body.objects.some((o) => o.object === 'Lead' && o.mode === 'cdc');
      },
      30_000,
      'Lead followed by cdc',
    );
    const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Lovelace', Company: 'Engines' });
    const view = async () => (await svc.api<{ delivery: { state: string; failures: number } }>('GET', `/v1/subscriptions/${subscriptionId}`)).body.delivery;
    await waitUntil(async () => (await view()).state === 'failing' && (await view()).failures >= 3, 30_000, 'the subscription failing, retried');
    failing = false;
    await waitUntil(() => rx.received.some((x) => x.event.subject === lead.id), 30_000, 'the webhook accepted');
    await waitUntil(async () => (await view()).state === 'active', 30_000, 'the subscription active again');
    // The grant revoked: the connection needs a person, whatever the stream and the poller retry meanwhile.
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'revoke-refresh-tokens' });
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-access-tokens' });
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'drop-streaming-clients' });
    await waitUntil(
      async () => (await svc.api<{ status: string }>('GET', `/v1/connections/${connectionId}`)).body.status === 'needs_reauth',
      30_000,
      'needs_reauth',
    );
  } finally {
    await svc.stop();
  }
  if (process.env.FORCEHOOK_LOGS_DUMP) writeFileSync(process.env.FORCEHOOK_LOGS_DUMP, lines.map((l) => JSON.stringify(l)).join('\n'));
}, 120_000);

afterAll(async () => {
  await rx?.close();
  await emulator?.close();
});

describe('log lines', () => {
  it('every line about an org names its org and its connection', () => {
    const aboutOrg = lines.filter((l) => 'orgId' in l || 'connectionId' in l);
    expect(aboutOrg.length).toBeGreaterThan(5);
    const missing = aboutOrg
      .filter((l) => l.orgId !== org.orgId || l.connectionId !== connectionId)
      .map((l) => `${l.msg} ${JSON.stringify({ orgId: l.orgId, connectionId: l.connectionId })}`);
    expect(missing).toEqual([]);
  });

  it('every line about a delivery names its subscription and event; a subscription line its connection and org', () => {
    // About one delivery: not a state change of the subscription (from/to), nor about many events (count).
    const aboutDelivery = lines.filter((l) => ('subscriptionId' in l || 'eventId' in l) && !('from' in l) && !('count' in l));
    expect(aboutDelivery.filter((l) => !('subscriptionId' in l) || !('eventId' in l)).map((l) => l.msg)).toEqual([]);
    const aboutSubscription = lines.filter((l) => l.subscriptionId === subscriptionId);
    expect(aboutSubscription.filter((l) => l.connectionId !== connectionId || l.orgId !== org.orgId).map((l) => l.msg)).toEqual([]);
  });

  it('a subscription that fails through several retries and recovers says so twice', () => {
    const changes = lines.filter((l) => l.msg === 'subscription delivery state' && l.subscriptionId === subscriptionId);
    expect(changes.map((l) => `${String(l.from)}→${String(l.to)}`)).toEqual(['active→failing', 'failing→active']);
    expect(changes[0]!.lastError).toMatch(/500/);
  });

  it('a state change is one line, not one per retry', () => {
    const changes = lines.filter((l) => 'from' in l && 'to' in l);
    const keys = changes.map((l) => `${l.msg}|${String(l.connectionId ?? l.subscriptionId ?? '')}|${String(l.from)}→${String(l.to)}`);
    // The same transition twice in a row would be a line per attempt.
    const repeated = keys.filter((k, i) => i > 0 && keys[i - 1] === k);
    expect(repeated).toEqual([]);
    expect(lines.filter((l) => l.msg === 'connection needs re-authorization')).toHaveLength(1);
  });
});
