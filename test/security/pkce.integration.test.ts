/**
 * Authorization code interception: a code read from the browser's history, a
 * log or a Referer header must be worthless, even to someone who also holds
 * the OAuth app's secret. The web-server flow always sends a PKCE S256
 * challenge; only the service, which keeps the verifier sealed in the connect
 * session, can redeem the code. An org whose app requires PKCE connects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, startTestEmulator, startTestService, type OrgCredentials, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
let svc: TestService;
beforeAll(async () => {
  emulator = await startTestEmulator();
  svc = await startTestService({ prefix: uniquePrefix('pkce') });
});
afterAll(async () => {
  await svc?.stop();
  await emulator?.close();
});

async function startSession(org: OrgCredentials): Promise<{ id: string; authorizeUrl: URL }> {
  const r = await svc.api<{ id: string; authorizeUrl: string }>('POST', '/v1/connect-sessions', {
    loginUrl: org.loginUrl,
    oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
  });
  expect(r.status).toBe(201);
  return { id: r.body.id, authorizeUrl: new URL(r.body.authorizeUrl) };
}

/** The user approves at Salesforce; the callback URL (carrying the code) Salesforce redirects the browser to. */
async function approve(org: OrgCredentials, authorizeUrl: URL): Promise<URL> {
  const form = new URLSearchParams(Object.fromEntries(authorizeUrl.searchParams));
  form.set('username', org.username);
  form.set('password', org.password);
  form.set('action', 'allow');
  const res = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

describe('PKCE on the web-server flow', () => {
  it('an org whose app requires PKCE connects through a connect session', async () => {
    const org = await createOrg(emulator.url, { requirePkce: true });
    const session = await startSession(org);
    expect(session.authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(session.authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const callback = await approve(org, session.authorizeUrl);
    expect(callback.searchParams.get('error')).toBeNull();
    const done = await fetch(callback, { redirect: 'manual' });
    expect(done.status).toBe(201);
    const created = (await done.json()) as { id: string; orgId: string };
    expect(created.orgId).toBe(org.orgId);
    const view = await svc.api<{ status: string; connectionId: string }>('GET', `/v1/connect-sessions/${session.id}`);
    expect(view.body).toMatchObject({ status: 'completed', connectionId: created.id });
  });

  it('an intercepted code cannot be redeemed without the verifier, even with the client secret', async () => {
    // The org does not require PKCE: the protection comes from the challenge forcehook sends.
    const org = await createOrg(emulator.url);
    const session = await startSession(org);
    const callback = await approve(org, session.authorizeUrl);
    const stolen = callback.searchParams.get('code')!;
    const redeem = async (extra: Record<string, string>) => {
      const form = new URLSearchParams({
        grant_type: 'authorization_code',
        code: stolen,
        client_id: org.clientId,
        client_secret: org.clientSecret,
        redirect_uri: session.authorizeUrl.searchParams.get('redirect_uri')!,
        ...extra,
      });
      const res = await fetch(`${org.loginUrl}/services/oauth2/token`, { method: 'POST', body: form });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const attempt = await redeem({});
    expect(attempt.status).toBe(400);
    expect(attempt.body).toMatchObject({ error: 'invalid_grant' });
    expect(attempt.body.access_token).toBeUndefined();
    // The verifier never left the service: neither the authorize URL nor the callback carries it.
    expect(session.authorizeUrl.search).not.toMatch(/code_verifier/);
    expect(callback.search).not.toMatch(/code_verifier/);
  });

  it('a code redeemed with a wrong verifier fails, and the session records the failure', async () => {
    const org = await createOrg(emulator.url, { requirePkce: true });
    const session = await startSession(org);
    // Someone swaps the challenge in the authorize URL for one of their own: the service's verifier no longer fits.
    const forged = new URL(session.authorizeUrl);
    forged.searchParams.set('code_challenge', 'A'.repeat(43));
    const callback = await approve(org, forged);
    const done = await fetch(callback, { redirect: 'manual' });
    expect(done.status).toBe(400);
    expect(((await done.json()) as { error: { message: string } }).error.message).toMatch(/invalid code verifier/);
    const view = await svc.api<{ status: string; error: string }>('GET', `/v1/connect-sessions/${session.id}`);
    expect(view.body).toMatchObject({ status: 'failed', error: 'invalid_grant' });
    expect((await svc.api<{ data: { orgId: string }[] }>('GET', '/v1/connections')).body.data.map((c) => c.orgId)).not.toContain(org.orgId);
  });
});
