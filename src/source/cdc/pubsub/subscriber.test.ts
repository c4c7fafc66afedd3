/**
 * The CDC subscriber over the Pub/Sub API, against the whole emulator (OAuth, REST writes, the gRPC
 * server with its own CA): flow control tied to Kafka acknowledgements, keepalive positions, schema
 * changes under a running stream, and the same facts (so the same event ids) as CometD.
 */
import { readFileSync } from 'node:fs';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../../core/log.js';
import { admin, newOrg, start, type OrgCredentials } from '../../../../testkit/emulator/support.js';
import { FAST_RETRY, sink } from '../../../../testkit/source/cdc.js';
import { waitUntil } from '../../../../testkit/wait.js';
import type { RunningEmulator } from '../../../emulator/server.js';
import { cdcEventId } from '../../../events/id.js';
import { normalizeChangeEvent } from '../../../normalize/change-event.js';
import type { ChangesResult } from '../../../normalize/raw-change.js';
import { createCdcSubscriber } from '../index.js';
import type { CdcMessage, CdcSession, CdcState, CdcSubscriber, CdcSubscriberOptions, CdcTransport } from '../types.js';

const LEAD = '/data/LeadChangeEvent';
const INVOICE = '/data/Invoice__ChangeEvent';

function user(org: OrgCredentials): jsforce.Connection {
  return new jsforce.Connection({
    oauth2: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret },
    instanceUrl: org.instanceUrl,
    refreshToken: org.refreshToken,
    version: '59.0',
  });
}

/** The session the service would have: a token from the org's refresh token, refreshed on demand. */
function session(org: OrgCredentials): CdcSession {
  const conn = user(org);
  const fresh = async (): Promise<string> => {
    const r = await conn.oauth2.refreshToken(org.refreshToken);
    return r.access_token;
  };
  return {
    connectionId: 'conn-1',
    orgId: org.orgId,
    instanceUrl: org.instanceUrl,
    apiVersion: '59.0',
    token: fresh,
    refresh: () => fresh(),
    onTokenRefreshed: () => () => {},
  };
}

describe('CDC subscriber over the Pub/Sub API', () => {
  let em: RunningEmulator;
  let org: OrgCredentials;
  let pubsub: CdcTransport;
  const subs: CdcSubscriber[] = [];
  beforeAll(async () => {
    em = await start({ pubsub: { keepaliveMs: 100, staleAfterMs: 300 } });
    org = await newOrg(em.url, { customObjects: [{ name: 'Invoice__c', fields: [{ name: 'Amount__c', type: 'currency' }] }] });
    pubsub = { kind: 'pubsub', endpoint: em.pubsub!.address, ca: readFileSync(em.pubsub!.caFile, 'utf8') };
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.stop()));
    await em.close();
  });

  function subscriber(k: ReturnType<typeof sink>, extra: Partial<CdcSubscriberOptions>): CdcSubscriber {
    const s = createCdcSubscriber({
      session: session(org),
      channels: [LEAD],
      positions: new Map(),
      handle: (b) => k.handle(b),
      commit: (p) => k.commit(p),
      onGap: (c, since) => k.onGap(c, since),
      logger: testLogger(),
      retry: FAST_RETRY,
      transport: pubsub,
      ...extra,
    });
    subs.push(s);
    return s;
  }

  it('a Kafka outage pauses fetching: the window and a trickle that keeps the stream open, nothing lost', async () => {
    let release: () => void = () => {};
    let gate: Promise<void> = Promise.resolve();
    const k = sink({ gate: () => gate });
    const states: CdcState[] = [];
    const keepOpenMs = 150;
    const s = subscriber(k, { transport: { ...pubsub, window: 5, keepOpenMs } as CdcTransport, silenceTimeoutMs: 500, onStateChange: (st) => states.push(st) });
    await s.start();
    await waitUntil(() => s.state() === 'subscribed', 5000, 'subscribed');
    const stats = async () =>
      (await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body as { eventsDelivered: number; pubsubSubscriptions: number };
    const before = (await stats()).eventsDelivered;

    gate = new Promise((r) => (release = r));
    const u = user(org);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await u.sobject('Lead').create({ LastName: `L${i}`, Company: 'C' })).id!);
    // Past the server's idle limit (300 ms here, 60 s at Salesforce) and the watchdog's silence: the
    // subscriber must neither lose the stream nor rebuild it; it asks for one event per keepOpenMs.
    const outageMs = 1200;
    await new Promise((r) => setTimeout(r, outageMs));
    const delivered = (await stats()).eventsDelivered - before;
    expect(delivered).toBeLessThanOrEqual(5 + Math.ceil(outageMs / keepOpenMs));
    expect(delivered).toBeLessThan(20);
    expect(k.handled.length).toBeLessThanOrEqual(5);
    expect(states).not.toContain('reconnecting');
    expect(s.state()).toBe('subscribed');

    release();
    gate = Promise.resolve();
    await waitUntil(() => k.handled.length >= 20, 10_000, 'every event after Kafka is back');
    const recordIds = k.handled.map((m) => (m.data as { payload: { ChangeEventHeader: { recordIds: string[] } } }).payload.ChangeEventHeader.recordIds[0]);
    expect(recordIds).toEqual(ids);
    expect(states).not.toContain('reconnecting');
    expect(k.prematureCommits).toEqual([]);
    await s.stop();
  }, 30_000);

  it('an idle channel is checkpointed at the keepalive replay id, behind every event before it', async () => {
    const k = sink();
    const s = subscriber(k, { channels: [INVOICE] });
    await s.start();
    await waitUntil(() => s.state() === 'subscribed', 5000, 'subscribed');
    // Events of another entity move the org's replay ids; the invoice channel carries none of them.
    const lead = await user(org).sobject('Lead').create({ LastName: 'Elsewhere', Company: 'C' });
    expect(lead.success).toBe(true);
    const latest = () => em.emulator.org(org.orgId)!.bus.latestReplayId();
    await waitUntil(() => k.store.get(INVOICE)?.replayId === String(latest()), 5000, 'the keepalive position checkpointed');
    expect(k.handled).toEqual([]);
    await s.stop();
  });

  it('a field added under a running stream: the new schema is fetched by its id and the field decoded', async () => {
    const k = sink();
    const s = subscriber(k, { channels: [INVOICE] });
    await s.start();
    await waitUntil(() => s.state() === 'subscribed', 5000, 'subscribed');
    const u = user(org);
    await u.sobject('Invoice__c').create({ Name: 'before', Amount__c: 10 });
    await waitUntil(() => k.handled.length === 1, 5000, 'first invoice');
    const r = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/objects/Invoice__c/fields`, { fields: [{ name: 'Note__c', type: 'text' }] });
    expect(r.status).toBe(201);
    await u.sobject('Invoice__c').create({ Name: 'after', Amount__c: 20, Note__c: 'new field' });
    await waitUntil(() => k.handled.length === 2, 5000, 'second invoice');
    const [a, b] = k.handled.map((m) => m.data as { schema: string; payload: Record<string, unknown> });
    expect(a!.schema).not.toBe(b!.schema);
    expect(a!.payload['Amount__c']).toBe(10);
    expect(b!.payload['Note__c']).toBe('new field');
    expect(b!.payload['Amount__c']).toBe(20);
    await s.stop();
  });

  it('the same change gets the same event id over Pub/Sub as over CometD', async () => {
    const viaPubsub = sink();
    const viaCometd = sink();
    const p = subscriber(viaPubsub, {});
    const c = subscriber(viaCometd, { transport: { kind: 'cometd' } });
    await Promise.all([p.start(), c.start()]);
    await waitUntil(() => p.state() === 'subscribed' && c.state() === 'subscribed', 5000, 'both subscribed');
    const u = user(org);
    const lead = await u.sobject('Lead').create({ LastName: 'Twice', Company: 'C', Email: 'a@example.com' });
    await u.sobject('Lead').update({ Id: lead.id!, Email: null, Company: 'D' });
    await waitUntil(() => viaPubsub.handled.length === 2 && viaCometd.handled.length === 2, 5000, 'both transports');
    const ids = (m: CdcMessage) => {
      const r = normalizeChangeEvent({ channel: m.channel, data: m.data }, { orgId: org.orgId, connectionId: 'c' }) as ChangesResult;
      return r.changes.map((ch) => ({
        id: cdcEventId({
          orgId: org.orgId,
          recordId: ch.recordId,
          type: 'salesforce.record.updated',
          commitTimestamp: ch.commitTimestamp,
          transactionKey: ch.transactionKey,
          sequenceNumber: ch.sequenceNumber,
          replayId: m.replayId,
        }),
        changedFields: [...ch.changedFields].sort(),
        record: ch.record,
      }));
    };
    expect(viaPubsub.handled.map(ids)).toEqual(viaCometd.handled.map(ids));
    await Promise.all([p.stop(), c.stop()]);
  });
});
