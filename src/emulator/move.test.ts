import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, newOrg, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';

/** An org that moves to another instance (fault move-instance), seen from outside. */

let em: RunningEmulator;
beforeAll(async () => {
  em = await start();
});
afterAll(async () => {
  await em.close();
});

async function refresh(org: OrgCredentials): Promise<Any> {
  const res = await fetch(`${org.loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: org.refreshToken, client_id: org.clientId, client_secret: org.clientSecret }),
  });
  return res.json();
}

async function rest(base: string, token: string, path: string): Promise<{ status: number; body: Any }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

async function handshake(base: string, token: string): Promise<Any> {
  const res = await fetch(`${base}/cometd/59.0`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `OAuth ${token}` },
    body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]),
  });
  return ((await res.json()) as Any[])[0];
}

describe('move-instance', () => {
  it('the org answers at a new instance URL, refreshes report it, the old instance refuses its sessions', async () => {
    const org = await newOrg(em.url);
    const conn = connect(org);
    const lead: Any = await conn.sobject('Lead').create({ LastName: 'Moved', Company: 'M' });
    const oldToken = conn.accessToken!;

    const moved = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'move-instance' });
    expect(moved.status).toBe(200);
    const newUrl: string = moved.body.instanceUrl;
    expect(newUrl).not.toBe(em.url);
    expect(moved.body.from).toBe(em.url);

    // The old instance: the session is refused as invalid, for REST and for streaming.
    const old = await rest(em.url, oldToken, `/services/data/v59.0/sobjects/Lead/${lead.id}`);
    expect(old.status).toBe(401);
    expect(old.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    const denied = await handshake(em.url, oldToken);
    expect(denied).toMatchObject({ successful: false, error: '403::Handshake denied', ext: { sfdc: { failureReason: '401::Authentication invalid' } } });

    // A refresh (at the login URL, which does not move) reports the new instance; the data is there.
    const token = await refresh(org);
    expect(token.instance_url).toBe(newUrl);
    const there = await rest(newUrl, token.access_token, `/services/data/v59.0/sobjects/Lead/${lead.id}`);
    expect(there.status).toBe(200);
    expect(there.body.LastName).toBe('Moved');
    expect((await handshake(newUrl, token.access_token)).successful).toBe(true);
    expect((await rest(em.url, token.access_token, '/services/data/v59.0/limits')).status).toBe(401);
    expect((await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body.instanceUrl).toBe(newUrl);
    // A client built on the instance the refresh reported works as before.
    expect((await connect({ ...org, instanceUrl: newUrl }).query('SELECT Id FROM Lead')).totalSize).toBe(1);
  });

  it('to a given instance URL (another host name for the same port)', async () => {
    const org = await newOrg(em.url);
    const port = new URL(em.url).port;
    const moved = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'move-instance', instanceUrl: `http://localhost:${port}` });
    expect(moved.body.instanceUrl).toBe(`http://localhost:${port}`);
    const token = await refresh(org);
    expect(token.instance_url).toBe(`http://localhost:${port}`);
    expect((await rest(`http://localhost:${port}`, token.access_token, '/services/data/v59.0/limits')).status).toBe(200);
    expect((await rest(em.url, token.access_token, '/services/data/v59.0/limits')).status).toBe(401);
  });
});
