/**
 * The org's OAuth apps: an app not installed in the org may be authorized only by a user with
 * "Approve Uninstalled Connected Apps" (Salesforce since September 2025); an External Client
 * App added later has its own credentials, and each app's tokens stay its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, newOrg, start, type OrgCredentials } from '../../testkit/emulator/support.js';

let em: RunningEmulator;
beforeAll(async () => {
  em = await start();
});
afterAll(async () => {
  await em.close();
});

const REDIRECT = 'https://app.example.com/oauth/callback';

/** Logs in on the approval page and allows: where the browser is sent next. */
async function authorize(org: OrgCredentials, clientId = org.clientId): Promise<URL> {
  const form = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's1' });
  form.set('username', org.username);
  form.set('password', org.password);
  form.set('action', 'allow');
  const res = await fetch(`${org.loginUrl}/services/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function token(org: OrgCredentials, body: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${org.loginUrl}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams(body) });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe('apps not installed (appInstalled, approveUninstalledApps)', () => {
  it('sends a user without the permission back with OAUTH_APPROVAL_ERROR_GENERIC, and lets one with it through', async () => {
    const org = await newOrg(em.url, { appInstalled: false, permissions: { approveUninstalledApps: false } });
    const refused = await authorize(org);
    expect(refused.origin + refused.pathname).toBe(REDIRECT);
    expect(Object.fromEntries(refused.searchParams)).toEqual({
      error: 'OAUTH_APPROVAL_ERROR_GENERIC',
      error_description: 'An unexpected error has occured during authentication',
      state: 's1',
    });
    await admin(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/permissions`, { approveUninstalledApps: true });
    expect((await authorize(org)).searchParams.get('code')).toBeTruthy();
  });

  it('authorizes once the admin installs the app', async () => {
    const org = await newOrg(em.url, { appInstalled: false, permissions: { approveUninstalledApps: false } });
    expect((await authorize(org)).searchParams.get('error')).toBe('OAUTH_APPROVAL_ERROR_GENERIC');
    const installed = await admin(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/apps/${org.clientId}`, { installed: true });
    expect(installed.body).toEqual({ clientId: org.clientId, installed: true });
    expect((await authorize(org)).searchParams.get('code')).toBeTruthy();
  });

  it('an installed app (the default) needs no permission', async () => {
    const org = await newOrg(em.url, { permissions: { approveUninstalledApps: false } });
    expect((await authorize(org)).searchParams.get('code')).toBeTruthy();
  });

  it('refuses a malformed option', async () => {
    expect((await admin(em.url, 'POST', '/__emulator/orgs', { appInstalled: 'no' })).status).toBe(400);
  });
});

describe('a second app of the org (an External Client App)', () => {
  it('has its own credentials; codes and refresh tokens work only with the app they were issued to', async () => {
    const org = await newOrg(em.url);
    const added = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/apps`, {});
    expect(added.status).toBe(201);
    const eca = added.body as { clientId: string; clientSecret: string };
    expect(eca.clientId).not.toBe(org.clientId);
    const code = (await authorize(org, eca.clientId)).searchParams.get('code')!;
    // A code of the new app redeemed with the old app's credentials: refused.
    const wrong = await token(org, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: org.clientId,
      client_secret: org.clientSecret,
    });
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const code2 = (await authorize(org, eca.clientId)).searchParams.get('code')!;
    const ok = await token(org, {
      grant_type: 'authorization_code',
      code: code2,
      redirect_uri: REDIRECT,
      client_id: eca.clientId,
      client_secret: eca.clientSecret,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.refresh_token).toBeTruthy();
    // The old app's refresh token keeps working with the old app, not with the new one, and the reverse.
    const old = { grant_type: 'refresh_token', refresh_token: org.refreshToken };
    expect((await token(org, { ...old, client_id: org.clientId, client_secret: org.clientSecret })).status).toBe(200);
    expect(await token(org, { ...old, client_id: eca.clientId, client_secret: eca.clientSecret })).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    const fresh = { grant_type: 'refresh_token', refresh_token: ok.body.refresh_token! };
    expect((await token(org, { ...fresh, client_id: eca.clientId, client_secret: eca.clientSecret })).status).toBe(200);
    expect((await token(org, { ...fresh, client_id: org.clientId, client_secret: org.clientSecret })).status).toBe(400);
    expect((await token(org, { ...fresh, client_id: eca.clientId, client_secret: org.clientSecret })).body.error).toBe('invalid_client');
  });
});
