import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, newOrg, start, type Any } from '../../testkit/emulator/support.js';
import { waitUntil } from '../../testkit/wait.js';

let em: RunningEmulator;
beforeAll(async () => {
  em = await start();
});
afterAll(async () => {
  await em.close();
});

describe('admin API', () => {
  it('creates orgs with 18-character ids and answers clear 400s', async () => {
    const org = await newOrg(em.url, { apiDailyLimit: 1000, cdcEntities: ['Lead'] });
    expect(Object.keys(org).sort()).toEqual(['clientId', 'clientSecret', 'instanceUrl', 'loginUrl', 'orgId', 'password', 'refreshToken', 'username'].sort());
    expect(org.orgId).toMatch(/^00D[a-zA-Z0-9]{12}[A-Z0-5]{3}$/);
    expect(org.loginUrl).toBe(em.url);
    expect(org.instanceUrl).toBe(em.url);
    const bad = await admin(em.url, 'POST', '/__emulator/orgs', { apiDailyLimit: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION');
    expect(bad.body.error.message).toMatch(/^apiDailyLimit: /);
    const badObject = await admin(em.url, 'POST', '/__emulator/orgs', { customObjects: [{ name: 'Invoice', fields: [] }] });
    expect(badObject.body.error.message).toMatch(/^customObjects\.0\.name: /);
    const unknownEntity = await admin(em.url, 'POST', '/__emulator/orgs', { cdcEntities: ['Nope'] });
    expect(unknownEntity.status).toBe(400);
    const badFault = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'fail-requests', status: 200, count: 1 });
    expect(badFault.status).toBe(400);
    expect((await admin(em.url, 'GET', '/__emulator/orgs/00D000000000000AAA/stats')).status).toBe(404);
  });

  it('custom objects can be added later; stats and the clock', async () => {
    const org = await newOrg(em.url);
    const added = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/custom-objects`, {
      name: 'Shipment__c',
      fields: [{ name: 'Weight__c', type: 'number' }],
    });
    expect(added.status).toBe(201);
    expect(added.body.channel).toBe('/data/Shipment__ChangeEvent');
    const conn = connect(org);
    const { id }: Any = await conn.sobject('Shipment__c').create({ Weight__c: 3 });
    expect(id.startsWith(added.body.keyPrefix)).toBe(true);
    const stats = await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
    expect(stats.body).toMatchObject({ orgId: org.orgId, apiCalls: 1, streamingClients: 0, retainedEvents: 1, recordsByObject: { Shipment__c: 1, User: 1 } });
    const before = Date.parse((await admin(em.url, 'GET', '/__emulator/clock')).body.now);
    const moved = await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 3_600_000 });
    expect(Date.parse(moved.body.now) - before).toBeGreaterThanOrEqual(3_600_000);
    const set = await admin(em.url, 'POST', '/__emulator/clock', { now: new Date(Date.now() + 7_200_000).toISOString() });
    expect(Date.parse(set.body.now)).toBeGreaterThan(Date.now() + 7_000_000);
  });

  it('synthetic activity writes records and change events through the REST write path', async () => {
    const org = await newOrg(em.url);
    const started = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/activity`, {
      perSecond: 200,
      objects: ['Lead', 'Account', 'CampaignMember'],
      seconds: 0.5,
    });
    expect(started.body.activity).toMatchObject({ perSecond: 200, objects: ['Lead', 'Account', 'CampaignMember'] });
    // The activity ends by itself after its half second.
    await waitUntil(async () => (await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body.activity === null, 5_000, 'the activity to end');
    const stats = await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
    expect(stats.body.eventsPublished).toBeGreaterThan(50);
    expect(stats.body.activity).toBeNull();
    const conn = connect(org);
    const members = await conn.query('SELECT Id, CampaignId, LeadId FROM CampaignMember');
    expect(members.totalSize).toBeGreaterThan(0);
  });
});
