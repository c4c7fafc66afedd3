/**
 * Org takeover: connecting an org that is already connected used to replace that connection's
 * credentials, and the org id was whatever the token endpoint said. A token endpoint an API client
 * controls could so claim another customer's org and take its connection over. Now the org id is
 * confirmed at the identity URL (which must belong with the login), a second connection of an org
 * is a 409, and re-authorizing is an explicit call that refuses a token of another org.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { createOrg, type TestService } from '../../testkit/service.js';
import { startHostileStack, type FakeLogin, type HostileStack } from '../../testkit/hostile.js';

let stack: HostileStack;
let emulator: RunningEmulator;
let svc: TestService;
let fake: FakeLogin;
beforeAll(async () => {
  stack = await startHostileStack('sec-takeover');
  ({ emulator, svc, fake } = stack);
});
afterAll(async () => {
  await stack?.close();
});

interface ConnView {
  id: string;
  orgId: string;
  loginUrl: string;
  instanceUrl: string;
  status: string;
  updatedAt: string;
}
type Err = { error: { code: string; message: string; details?: { connectionId?: string } } };

describe('org takeover', () => {
  it('a second POST /v1/connections for a connected org, from another login host or the same: 409 with the connection id, credentials unchanged', async () => {
    const victim = await createOrg(emulator.url);
    const c = await svc.api<ConnView>('POST', '/v1/connections', {
      loginUrl: victim.loginUrl,
      clientId: victim.clientId,
      clientSecret: victim.clientSecret,
      refreshToken: victim.refreshToken,
    });
    expect(c.status).toBe(201);
    const before = (await svc.api<ConnView>('GET', `/v1/connections/${c.body.id}`)).body;

    // Another client's login host answers for the victim's org (its grant is real: it passes it on to the org).
    fake.instanceUrl = victim.instanceUrl;
    const takeover = await svc.api<Err>('POST', '/v1/connections', {
      loginUrl: fake.url,
      clientId: victim.clientId,
      clientSecret: victim.clientSecret,
      refreshToken: victim.refreshToken,
    });
    expect(takeover.status).toBe(409);
    expect(takeover.body.error.details?.connectionId).toBe(c.body.id);
    const again = await svc.api<Err>('POST', '/v1/connections', {
      loginUrl: victim.loginUrl,
      clientId: victim.clientId,
      clientSecret: victim.clientSecret,
      refreshToken: victim.refreshToken,
    });
    expect(again.status).toBe(409);
    expect(again.body.error.details?.connectionId).toBe(c.body.id);

    const after = (await svc.api<ConnView>('GET', `/v1/connections/${c.body.id}`)).body;
    expect(after).toMatchObject({ loginUrl: before.loginUrl, instanceUrl: before.instanceUrl, updatedAt: before.updatedAt });
    expect((await svc.api<{ data: ConnView[] }>('GET', '/v1/connections')).body.data.filter((x) => x.orgId === victim.orgId)).toHaveLength(1);
  });

  it('an identity URL on another host family than the login is refused: the org id it names is not believed', async () => {
    const org = await createOrg(emulator.url);
    fake.instanceUrl = org.instanceUrl;
    for (const identity of [(path: string) => `https://login.salesforce.com${path}`, (path: string) => `${emulator.url}${path}`]) {
      fake.identityUrl = identity;
      const r = await svc.api<Err>('POST', '/v1/connections', {
        loginUrl: fake.url,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      expect(r.status, identity('/id')).toBe(400);
      expect(r.body.error.message, identity('/id')).toMatch(/identity URL/);
    }
    fake.identityUrl = undefined;
    expect((await svc.api<{ data: ConnView[] }>('GET', '/v1/connections')).body.data.filter((x) => x.orgId === org.orgId)).toEqual([]);
  });

  it('PUT /v1/connections/:id/credentials re-authorizes with a token of the same org and refuses one of another org with 409', async () => {
    const org = await createOrg(emulator.url);
    const other = await createOrg(emulator.url);
    const c = await svc.api<ConnView>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const before = (await svc.api<ConnView>('GET', `/v1/connections/${c.body.id}`)).body;
    const wrong = await svc.api<Err>('PUT', `/v1/connections/${c.body.id}/credentials`, {
      clientId: other.clientId,
      clientSecret: other.clientSecret,
      refreshToken: other.refreshToken,
    });
    expect(wrong.status).toBe(409);
    expect((await svc.api<ConnView>('GET', `/v1/connections/${c.body.id}`)).body).toMatchObject({ orgId: org.orgId, updatedAt: before.updatedAt });

    const ok = await svc.api<ConnView>('PUT', `/v1/connections/${c.body.id}/credentials`, { refreshToken: org.refreshToken });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ id: c.body.id, orgId: org.orgId, status: 'active' });
    const missing = await svc.api<Err>('PUT', '/v1/connections/00000000-0000-0000-0000-000000000000/credentials', { refreshToken: org.refreshToken });
    expect(missing.status).toBe(404);
  });
});
