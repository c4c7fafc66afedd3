/**
 * Connecting an org: by refresh token (validated against the org) and through
 * the OAuth 2.0 web-server flow, as a browser would walk it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, startTestEmulator, startTestService, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
let svc: TestService;
beforeAll(async () => {
  emulator = await startTestEmulator();
  svc = await startTestService({ prefix: uniquePrefix('connect') });
});
afterAll(async () => {
  await svc?.stop();
  await emulator?.close();
});

describe('connections', () => {
  it('refuses a refresh token the org does not accept, with a 400 that says why', async () => {
    const org = await createOrg(emulator.url);
    const r = await svc.api<{ error: { code: string; message: string } }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: 'not-a-token',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/invalid_grant/);
    const missing = await svc.api<{ error: { message: string } }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/^body\.refreshToken/);
  });

  it('connects through the OAuth web-server flow with a user-configured OAuth app and redirects back', async () => {
    const org = await createOrg(emulator.url);
    const session = await svc.api<{ authorizeUrl: string; expiresAt: string }>('POST', '/v1/connect-sessions', {
      loginUrl: org.loginUrl,
      oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
      returnUrl: 'https://app.example.com/salesforce/connected',
    });
    expect(session.status).toBe(201);
    const authorize = new URL(session.body.authorizeUrl);
    expect(authorize.origin).toBe(new URL(org.loginUrl).origin);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${svc.service.url}/oauth/callback`);
    // The user sees Salesforce's approval page and allows access.
    const page = await fetch(authorize);
    expect(await page.text()).toContain('Allow Access?');
    const form = new URLSearchParams(Object.fromEntries(authorize.searchParams));
    form.set('username', org.username);
    form.set('password', org.password);
    form.set('action', 'allow');
    const approved = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
    expect(approved.status).toBe(302);
    const callback = approved.headers.get('location')!;
    expect(callback.startsWith(`${svc.service.url}/oauth/callback?`)).toBe(true);
    const done = await fetch(callback, { redirect: 'manual' });
    expect(done.status).toBe(303);
    const back = new URL(done.headers.get('location')!);
    expect(back.origin + back.pathname).toBe('https://app.example.com/salesforce/connected');
    expect(back.searchParams.get('orgId')).toBe(org.orgId);
    const id = back.searchParams.get('connectionId')!;
    const view = await svc.api<{ orgId: string; status: string }>('GET', `/v1/connections/${id}`);
    expect(view.body).toMatchObject({ orgId: org.orgId, status: 'active' });
    // A state is single-use: replaying the callback does not create another connection.
    const replay = await fetch(callback, { redirect: 'manual' });
    expect(replay.status).toBe(400);
  });

  it('refuses a tampered state and reports a denied authorization to the return URL', async () => {
    const org = await createOrg(emulator.url);
    const s = await svc.api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', {
      loginUrl: org.loginUrl,
      oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
      returnUrl: 'https://app.example.com/back',
    });
    const state = new URL(s.body.authorizeUrl).searchParams.get('state')!;
    const tampered = await fetch(`${svc.service.url}/oauth/callback?code=x&state=${encodeURIComponent(state.slice(0, -2) + 'AA')}`, { redirect: 'manual' });
    expect(tampered.status).toBe(400);
    const denied = await fetch(
      `${svc.service.url}/oauth/callback?error=access_denied&error_description=end-user+denied+authorization&state=${encodeURIComponent(state)}`,
      { redirect: 'manual' },
    );
    expect(denied.status).toBe(303);
    expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
  });

  it('re-authorizes a connection through a connect session with connectionId, and refuses a grant for another org (org_mismatch)', async () => {
    const org = await createOrg(emulator.url);
    const other = await createOrg(emulator.url);
    const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const before = await svc.api<{ updatedAt: string; tokenRefreshedAt: string }>('GET', `/v1/connections/${c.body.id}`);
    const walk = async (creds: typeof org, body: Record<string, unknown>) => {
      const s = await svc.api<{ id: string; authorizeUrl: string }>('POST', '/v1/connect-sessions', {
        ...body,
        connectionId: c.body.id,
        returnUrl: 'https://app.example.com/back',
      });
      expect(s.status).toBe(201);
      const form = new URLSearchParams(Object.fromEntries(new URL(s.body.authorizeUrl).searchParams));
      form.set('username', creds.username);
      form.set('password', creds.password);
      form.set('action', 'allow');
      const approved = await fetch(new URL('/services/oauth2/authorize', creds.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
      const done = await fetch(approved.headers.get('location')!, { redirect: 'manual' });
      expect(done.status).toBe(303);
      return { id: s.body.id, back: new URL(done.headers.get('location')!) };
    };
    // Someone with an API key points the connection at an org of their own.
    const takeover = await walk(other, { loginUrl: other.loginUrl, oauthApp: { clientId: other.clientId, clientSecret: other.clientSecret } });
    expect(takeover.back.searchParams.get('error')).toBe('org_mismatch');
    expect(takeover.back.searchParams.get('connectSessionId')).toBe(takeover.id);
    const failed = await svc.api<{ status: string; error: string }>('GET', `/v1/connect-sessions/${takeover.id}`);
    expect(failed.body).toMatchObject({ status: 'failed', error: 'org_mismatch' });
    const untouched = await svc.api<{ orgId: string; updatedAt: string }>('GET', `/v1/connections/${c.body.id}`);
    expect(untouched.body).toMatchObject({ orgId: org.orgId, updatedAt: before.body.updatedAt });
    // The same org, with the connection's own app and login URL: re-authorized in place.
    const reauth = await walk(org, {});
    expect(reauth.back.searchParams.get('connectionId')).toBe(c.body.id);
    const done = await svc.api<{ status: string; connectionId: string }>('GET', `/v1/connect-sessions/${reauth.id}`);
    expect(done.body).toMatchObject({ status: 'completed', connectionId: c.body.id });
    const after = await svc.api<{ orgId: string; status: string; updatedAt: string }>('GET', `/v1/connections/${c.body.id}`);
    expect(after.body).toMatchObject({ orgId: org.orgId, status: 'active' });
    expect(after.body.updatedAt).not.toBe(before.body.updatedAt);
  });

  it('needs an OAuth app when none is configured', async () => {
    const r = await svc.api<{ error: { message: string } }>('POST', '/v1/connect-sessions', { environment: 'sandbox' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/oauthApp/);
  });
});

describe('subscriptions are checked against the org', () => {
  it("stores the org's spelling; refuses an object or a field the org does not have, naming it", async () => {
    const org = await createOrg(emulator.url, { customObjects: [{ name: 'Invoice__c', fields: [{ name: 'Status__c', type: 'text' }] }] });
    const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const hook = { type: 'webhook', url: 'https://hooks.example.com/x' };
    const ok = await svc.api<{ object: string; fields: string[] }>('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger: 'record.updated',
      object: 'invoice__c',
      fields: ['status__c'],
      destination: hook,
    });
    expect(ok.status).toBe(201);
    expect([ok.body.object, ok.body.fields]).toEqual(['Invoice__c', ['Status__c']]);
    const noObject = await svc.api<{ error: { message: string } }>('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger: 'record.created',
      object: 'Shipment__c',
      destination: hook,
    });
    expect(noObject.status).toBe(400);
    expect(noObject.body.error.message).toMatch(/^body\.object: the org has no object 'Shipment__c'/);
    const noField = await svc.api<{ error: { message: string } }>('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger: 'record.updated',
      object: 'Lead',
      fields: ['Compny'],
      destination: hook,
    });
    expect(noField.status).toBe(400);
    expect(noField.body.error.message).toBe("body.fields: Lead has no field 'Compny'");
  });
});
