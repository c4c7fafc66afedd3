import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, expectSfError, newOrg, RawBayeux, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';

/**
 * The connecting user's permissions: without View Setup and Configuration the Tooling API
 * has no PlatformEventChannelMember for them; without View All Data a single-entity change
 * event channel is refused and /data/ChangeEvents withholds its events at delivery.
 */

let em: RunningEmulator;
beforeAll(async () => {
  em = await start({ connectTimeoutMs: 300 });
});
afterAll(async () => {
  await em.close();
});

const SELECTION = "SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents'";

async function token(org: OrgCredentials): Promise<string> {
  const conn = connect(org);
  await conn.query('SELECT Id FROM User');
  return conn.accessToken!;
}

async function setPermissions(org: OrgCredentials, body: Record<string, boolean>): Promise<Any> {
  const r = await admin(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/permissions`, body);
  expect(r.status).toBe(200);
  return r.body;
}

/** Connects until `n` events arrived or `rounds` connects came back without more. */
async function eventsOn(client: RawBayeux, rounds = 3): Promise<Any[]> {
  const out: Any[] = [];
  for (let i = 0; i < rounds; i++) out.push(...(await client.connect()).events);
  return out;
}

describe('org permissions', () => {
  it('are all granted by default, set at creation, changed at runtime and shown in stats', async () => {
    const org = await newOrg(em.url);
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body.permissions).toEqual({
      viewSetup: true,
      viewAllData: true,
      approveUninstalledApps: true,
    });
    const limited = await newOrg(em.url, { permissions: { viewAllData: false, approveUninstalledApps: false } });
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${limited.orgId}/stats`)).body.permissions).toEqual({
      viewSetup: true,
      viewAllData: false,
      approveUninstalledApps: false,
    });
    expect(await setPermissions(limited, { viewSetup: false })).toEqual({ viewSetup: false, viewAllData: false, approveUninstalledApps: false });
    expect(await setPermissions(limited, { viewAllData: true, approveUninstalledApps: true })).toEqual({
      viewSetup: false,
      viewAllData: true,
      approveUninstalledApps: true,
    });
  });

  it('refuses a malformed permissions body and an unknown org', async () => {
    const org = await newOrg(em.url);
    const bad = await admin(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/permissions`, { viewAllData: 'no' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^viewAllData:/);
    expect((await admin(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/permissions`, { modifyAllData: true })).status).toBe(400);
    expect((await admin(em.url, 'PUT', '/__emulator/orgs/00D000000000000AAA/permissions', { viewSetup: false })).status).toBe(404);
    expect((await admin(em.url, 'POST', '/__emulator/orgs', { permissions: { viewSetup: 'yes' } })).status).toBe(400);
  });

  it('without View Setup and Configuration the Tooling query of PlatformEventChannelMember fails as an unknown type', async () => {
    const org = await newOrg(em.url, { cdcEntities: ['Lead'] });
    const conn = connect(org);
    expect((await conn.tooling.query<{ SelectedEntity: string }>(SELECTION)).records.map((r) => r.SelectedEntity)).toEqual(['LeadChangeEvent']);

    await setPermissions(org, { viewSetup: false });
    const err = await expectSfError(Promise.resolve(conn.tooling.query(SELECTION)));
    expect(err.errorCode).toBe('INVALID_TYPE');
    expect(err.message).toBe("sObject type 'PlatformEventChannelMember' is not supported.");
    const raw = await fetch(`${conn.instanceUrl}/services/data/v59.0/tooling/query?q=${encodeURIComponent(SELECTION)}`, {
      headers: { Authorization: `Bearer ${conn.accessToken}` },
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual([{ message: "sObject type 'PlatformEventChannelMember' is not supported.", errorCode: 'INVALID_TYPE' }]);

    await setPermissions(org, { viewSetup: true });
    expect((await conn.tooling.query(SELECTION)).totalSize).toBe(1);
  });

  it('serves the user their own permissions through UserPermissionAccess', async () => {
    const org = await newOrg(em.url, { permissions: { viewAllData: false } });
    const conn = connect(org);
    const read = async () => (await conn.query<Any>('SELECT PermissionsViewSetup, PermissionsViewAllData FROM UserPermissionAccess')).records;
    expect(await read()).toEqual([expect.objectContaining({ PermissionsViewSetup: true, PermissionsViewAllData: false })]);
    await setPermissions(org, { viewAllData: true, viewSetup: false });
    expect(await read()).toEqual([expect.objectContaining({ PermissionsViewSetup: false, PermissionsViewAllData: true })]);
  });

  it('without View All Data a single-entity channel is refused at subscribe', async () => {
    const org = await newOrg(em.url, { permissions: { viewAllData: false } });
    const client = new RawBayeux(em.url, await token(org));
    expect((await client.handshake()).successful).toBe(true);
    expect(await client.subscribe('/data/LeadChangeEvent')).toMatchObject({
      channel: '/meta/subscribe',
      subscription: '/data/LeadChangeEvent',
      successful: false,
      error: '403::User not allowed to subscribe CDC without View All Data permissions',
    });
    // A channel that does not exist is still reported as such.
    expect((await client.subscribe('/data/NoSuchThingChangeEvent')).error).toMatch(/^400::The channel you requested to subscribe to doesn't exist/);

    await setPermissions(org, { viewAllData: true });
    expect((await client.subscribe('/data/LeadChangeEvent')).successful).toBe(true);
  });

  it('without View All Data /data/ChangeEvents accepts the subscription and withholds the change events at delivery', async () => {
    const org = await newOrg(em.url);
    const client = new RawBayeux(em.url, await token(org));
    await client.handshake();
    expect((await client.subscribe('/data/ChangeEvents')).successful).toBe(true);
    expect((await client.subscribe('/data/LeadChangeEvent')).successful).toBe(true);
    await client.connect();
    const user = connect(org);

    await setPermissions(org, { viewAllData: false });
    const hidden = await user.sobject('Lead').create({ LastName: 'Hidden', Company: 'H' });
    // Enforced on delivery, also for a subscription made while the permission was there.
    expect(await eventsOn(client)).toEqual([]);
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body.eventsDelivered).toBe(0);

    await setPermissions(org, { viewAllData: true });
    const shown = await user.sobject('Lead').create({ LastName: 'Shown', Company: 'S' });
    const events = await eventsOn(client, 1);
    const ids = events.map((e) => e.data.payload.ChangeEventHeader.recordIds[0]);
    expect(ids).toEqual([shown.id, shown.id]);
    expect(ids).not.toContain(hidden.id);

    // The withheld event stays in the bus: a subscriber with the permission replays it.
    const replayer = new RawBayeux(em.url, await token(org));
    await replayer.handshake();
    expect((await replayer.subscribe('/data/LeadChangeEvent', { '/data/LeadChangeEvent': -2 })).successful).toBe(true);
    const replayed = (await eventsOn(replayer, 1)).map((e) => e.data.payload.ChangeEventHeader.recordIds[0]);
    expect(replayed).toEqual([hidden.id, shown.id]);
  });
});
