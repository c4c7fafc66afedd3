import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, newOrg, RawBayeux as Raw, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';

/**
 * Streaming allocations by edition: concurrent clients and the event delivery
 * allocation, with Salesforce's error strings where a CometD client sees them.
 */

let em: RunningEmulator;
beforeAll(async () => {
  em = await start({ connectTimeoutMs: 1000 });
});
afterAll(async () => {
  await em.close();
});

async function accessToken(org: OrgCredentials): Promise<string> {
  const conn = connect(org);
  await conn.query('SELECT Id FROM User');
  return conn.accessToken!;
}

async function createLeads(org: OrgCredentials, n: number): Promise<void> {
  const conn = connect(org);
  for (let i = 0; i < n; i++) await conn.sobject('Lead').create({ LastName: `L${i}`, Company: 'C' });
}

describe('concurrent Streaming API clients by edition', () => {
  it('a developer org allows 20 clients; the 21st handshake is refused with Salesforce error', async () => {
    const org = await newOrg(em.url, { edition: 'developer' });
    const token = await accessToken(org);
    for (let i = 0; i < 20; i++) expect((await new Raw(em.url, token).handshake()).successful).toBe(true);
    const refused = await new Raw(em.url, token).handshake();
    expect(refused).toMatchObject({ channel: '/meta/handshake', successful: false, error: '403::Organization concurrent user limit exceeded' });
    const stats = await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
    expect(stats.body).toMatchObject({ edition: 'developer', streamingClients: 20, maxStreamingClients: 20, eventDeliveryDailyLimit: 10_000 });
    const limits: Any = await connect(org).request('/services/data/v59.0/limits');
    expect(limits.DurableStreamingApiConcurrentClients).toEqual({ Max: 20, Remaining: 0 });
  });

  it('enterprise and unlimited (the default) allow more, with their own delivery allocations', async () => {
    const unlimited = await newOrg(em.url);
    const token = await accessToken(unlimited);
    for (let i = 0; i < 21; i++) expect((await new Raw(em.url, token).handshake()).successful).toBe(true);
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${unlimited.orgId}/stats`)).body).toMatchObject({
      edition: 'unlimited',
      maxStreamingClients: 2000,
      eventDeliveryDailyLimit: 50_000,
    });
    const enterprise = await newOrg(em.url, { edition: 'enterprise' });
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${enterprise.orgId}/stats`)).body).toMatchObject({
      maxStreamingClients: 1000,
      eventDeliveryDailyLimit: 25_000,
    });
    expect((await admin(em.url, 'POST', '/__emulator/orgs', { edition: 'professional' })).status).toBe(400);
  });
});

describe('event delivery allocation', () => {
  it('counts each event per client; past the allocation /meta/connect answers the daily-limit error and delivers nothing more', async () => {
    const org = await newOrg(em.url, { eventDeliveryDailyLimit: 5 });
    const token = await accessToken(org);
    const a = new Raw(em.url, token);
    const b = new Raw(em.url, token);
    for (const c of [a, b]) {
      await c.handshake();
      expect((await c.subscribe('/data/LeadChangeEvent')).successful).toBe(true);
      expect((await c.connect()).reply.successful).toBe(true);
    }
    await createLeads(org, 3);
    const first = await a.connect();
    expect(first.events).toHaveLength(3);
    // Two of b's three fit in what is left: 3 + 2 = 5.
    const second = await b.connect();
    expect(second.events).toHaveLength(2);
    const refused = await b.connect();
    expect(refused.events).toHaveLength(0);
    expect(refused.reply).toMatchObject({
      channel: '/meta/connect',
      successful: false,
      error: '403::Organization total events daily limit exceeded',
      advice: { reconnect: 'none' },
    });
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body).toMatchObject({ eventsDelivered: 5, eventDeliveryDailyLimit: 5 });
    const limits: Any = await connect(org).request('/services/data/v59.0/limits');
    expect(limits.DailyDeliveredPlatformEvents).toEqual({ Max: 5, Remaining: 0 });
    // A new client can handshake but not connect.
    const c = new Raw(em.url, token);
    expect((await c.handshake()).successful).toBe(true);
    expect((await c.connect()).reply.error).toBe('403::Organization total events daily limit exceeded');

    // The rolling 24 h frees the allocation; the events stayed in the bus and replay.
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 24 * 3_600_000 + 15 * 60_000 });
    const d = new Raw(em.url, await accessToken(org));
    await d.handshake();
    expect((await d.subscribe('/data/LeadChangeEvent', { '/data/LeadChangeEvent': -2 })).successful).toBe(true);
    const replayed = await d.connect();
    expect(replayed.reply.successful).toBe(true);
    expect(replayed.events).toHaveLength(3);
  });

  it('fault exhaust-event-allocation: a held connect gets the error at once, until the hours pass', async () => {
    const org = await newOrg(em.url);
    const token = await accessToken(org);
    const a = new Raw(em.url, token);
    await a.handshake();
    await a.subscribe('/data/LeadChangeEvent');
    await a.connect();
    const held = a.connect();
    await new Promise((r) => setTimeout(r, 100));
    const fault = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'exhaust-event-allocation', hours: 2 });
    expect(fault.body).toMatchObject({ kind: 'exhaust-event-allocation', refused: 1 });
    expect((await held).reply).toMatchObject({ successful: false, error: '403::Organization total events daily limit exceeded' });
    const b = new Raw(em.url, token);
    await b.handshake();
    expect((await b.connect()).reply.error).toBe('403::Organization total events daily limit exceeded');
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 2 * 3_600_000 });
    const c = new Raw(em.url, await accessToken(org));
    await c.handshake();
    expect((await c.connect()).reply.successful).toBe(true);
  });
});
