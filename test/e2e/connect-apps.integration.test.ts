/**
 * Salesforce's app rules, through the API: an app not installed in the org is refused for a user
 * without "Approve Uninstalled Connected Apps" and the session says so with its own code; and a
 * connection keeps the OAuth app it was authorized with when the operator moves the default app
 * to a new External Client App.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { adminCall, createOrg, startTestEmulator, startTestService, waitUntil, type OrgCredentials, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
const running: TestService[] = [];
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  for (const s of running) await s.stop();
  await emulator?.close();
});

async function service(prefix: string, env: Record<string, string> = {}, extra: { tokenRefreshIntervalS?: number } = {}): Promise<TestService> {
  const svc = await startTestService({ prefix, env, ...extra });
  running.push(svc);
  return svc;
}

/** The user logs in on Salesforce's page and allows; the browser then follows Salesforce's redirect to the service. */
async function walk(svc: TestService, org: OrgCredentials, authorizeUrl: string): Promise<Response> {
  const form = new URLSearchParams(Object.fromEntries(new URL(authorizeUrl).searchParams));
  form.set('username', org.username);
  form.set('password', org.password);
  form.set('action', 'allow');
  const approved = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
  expect(approved.status).toBe(302);
  const callback = approved.headers.get('location')!;
  expect(callback.startsWith(`${svc.service.url}/oauth/callback?`)).toBe(true);
  return fetch(callback, { redirect: 'manual' });
}

describe('an OAuth app that is not installed in the org', () => {
  it('fails the session with app_not_installed and says what an admin does', async () => {
    const svc = await service(uniquePrefix('apps'));
    const org = await createOrg(emulator.url, { appInstalled: false, permissions: { approveUninstalledApps: false } });
    const s = await svc.api<{ id: string; authorizeUrl: string }>('POST', '/v1/connect-sessions', {
      loginUrl: org.loginUrl,
      oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
      returnUrl: 'https://app.example.com/back',
    });
    expect(s.status).toBe(201);
    const done = await walk(svc, org, s.body.authorizeUrl);
    expect(done.status).toBe(303);
    const back = new URL(done.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('app_not_installed');
    expect(back.searchParams.get('connectSessionId')).toBe(s.body.id);
    const view = await svc.api<{ status: string; error: string; errorDescription: string }>('GET', `/v1/connect-sessions/${s.body.id}`);
    expect(view.body).toMatchObject({ status: 'failed', error: 'app_not_installed' });
    expect(view.body.errorDescription).toMatch(/OAUTH_APPROVAL_ERROR_GENERIC/);
    expect(view.body.errorDescription).toMatch(/Approve Uninstalled Connected Apps/);
    const all = await svc.api<{ data: { orgId: string }[] }>('GET', '/v1/connections');
    expect(all.body.data.filter((c) => c.orgId === org.orgId)).toEqual([]);
  });
});

describe('moving the default OAuth app to a new External Client App', () => {
  it('keeps each connection on the app it was authorized with; new sessions use the new app', async () => {
    const prefix = uniquePrefix('apps-move');
    const org = await createOrg(emulator.url);
    const before = await service(prefix, { FORCEHOOK_OAUTH_CLIENT_ID: org.clientId, FORCEHOOK_OAUTH_CLIENT_SECRET: org.clientSecret });
    // No oauthApp in the body: the operator's default app.
    const s = await before.api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', { loginUrl: org.loginUrl, returnUrl: 'https://app.example.com/back' });
    expect(s.status).toBe(201);
    expect(new URL(s.body.authorizeUrl).searchParams.get('client_id')).toBe(org.clientId);
    const done = await walk(before, org, s.body.authorizeUrl);
    const connectionId = new URL(done.headers.get('location')!).searchParams.get('connectionId')!;
    expect(connectionId).toBeTruthy();
    const first = await before.api<{ tokenRefreshedAt: string }>('GET', `/v1/connections/${connectionId}`);
    await before.stop();
    running.splice(running.indexOf(before), 1);

    // The operator creates an External Client App and makes it the default.
    const eca = await adminCall<{ clientId: string; clientSecret: string }>(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/apps`, {});
    const after = await service(
      prefix,
      { FORCEHOOK_OAUTH_CLIENT_ID: eca.clientId, FORCEHOOK_OAUTH_CLIENT_SECRET: eca.clientSecret },
      { tokenRefreshIntervalS: 1 },
    );
    // The connection refreshes with its own app (the emulator refuses its refresh token to any other).
    let refreshed: { status: string; tokenRefreshedAt: string } | undefined;
    await waitUntil(
      async () => {
        refreshed = (await after.api<{ status: string; tokenRefreshedAt: string }>('GET', `/v1/connections/${connectionId}`)).body;
        return refreshed.tokenRefreshedAt > first.body.tokenRefreshedAt;
      },
      20_000,
      'the connection refreshed its tokens after the move',
    );
    expect(refreshed?.status).toBe('active');
    // A new session uses the new app; re-authorizing the old connection keeps its own unless told.
    const fresh = await after.api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', { loginUrl: org.loginUrl });
    expect(new URL(fresh.body.authorizeUrl).searchParams.get('client_id')).toBe(eca.clientId);
    const reauth = await after.api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', { connectionId });
    expect(new URL(reauth.body.authorizeUrl).searchParams.get('client_id')).toBe(org.clientId);
    const moved = await after.api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', {
      connectionId,
      oauthApp: { clientId: eca.clientId, clientSecret: eca.clientSecret },
    });
    expect(new URL(moved.body.authorizeUrl).searchParams.get('client_id')).toBe(eca.clientId);
  });
});
