import { createHash } from 'node:crypto';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, expectSfError, fixture, newOrg, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';

let em: RunningEmulator;
let org: OrgCredentials;

beforeAll(async () => {
  em = await start();
  org = await newOrg(em.url);
});
afterAll(async () => {
  await em.close();
});

function oauth2(redirectUri = 'https://app.example.com/oauth/callback', extra: Record<string, unknown> = {}) {
  return new jsforce.OAuth2({ loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret, redirectUri, ...extra });
}

/** What a browser does on the approval page: submit the form with the user's credentials. */
async function approve(authorizeUrl: string, password = org.password, action = 'allow'): Promise<URL> {
  const page = await fetch(authorizeUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.set(
      m[1]!,
      m[2]!.replace(/&#(\d+);/g, (_s, c: string) => String.fromCharCode(Number(c))),
    );
  }
  form.set('username', org.username);
  form.set('password', password);
  form.set('action', action);
  const res = await fetch(`${org.loginUrl}/services/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

describe('OAuth 2.0', () => {
  it('password flow: jsforce logs in and gets a token shaped like the recorded one', async () => {
    const conn = new jsforce.Connection({ oauth2: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret } });
    const info = await conn.login(org.username, org.password);
    expect(info.organizationId).toBe(org.orgId);
    expect(conn.instanceUrl).toBe(org.instanceUrl);
    expect(conn.accessToken!.startsWith(`${org.orgId.slice(0, 15)}!`)).toBe(true);
    const token = await oauth2().authenticate(org.username, org.password);
    const recorded = fixture('oauth-token-password.json');
    for (const key of Object.keys(recorded)) expect(token).toHaveProperty(key);
    expect(token.id).toBe(`${org.loginUrl}/id/${org.orgId}/${info.id}`);
    expect(token.issued_at).toMatch(/^\d{13}$/);
    expect(token.token_type).toBe('Bearer');
  });

  it('refresh_token grant returns a new access token and no new refresh token', async () => {
    const token: Any = await oauth2().refreshToken(org.refreshToken);
    expect(Object.keys(token).sort()).toEqual([...Object.keys(fixture('oauth-token-refresh_token.json')), 'scope', 'token_type'].sort());
    expect(token.refresh_token).toBeUndefined();
    expect(token.instance_url).toBe(org.instanceUrl);
  });

  it('authorization_code flow: approval page, redirect with code and state, jsforce authorize', async () => {
    const o = oauth2();
    const redirect = await approve(o.getAuthorizationUrl({ state: 'st/ate 1' }));
    expect(redirect.origin + redirect.pathname).toBe('https://app.example.com/oauth/callback');
    expect(redirect.searchParams.get('state')).toBe('st/ate 1');
    const code = redirect.searchParams.get('code')!;
    const conn = new jsforce.Connection({ oauth2: o });
    const info = await conn.authorize(code);
    expect(info.organizationId).toBe(org.orgId);
    expect(conn.refreshToken).toBeTruthy();
    const ids = await conn.query('SELECT Id FROM User');
    expect(ids.totalSize).toBe(1);
    // Codes are single-use.
    const err = await expectSfError(o.requestToken(code));
    expect(err.name).toBe('invalid_grant');
    // The new refresh token works on its own.
    const again = await o.refreshToken(conn.refreshToken!);
    expect(again.access_token).toBeTruthy();
  });

  it('authorization_code flow with PKCE (jsforce useVerifier)', async () => {
    const o = new jsforce.OAuth2({ loginUrl: org.loginUrl, clientId: org.clientId, redirectUri: 'http://localhost:1717/cb', useVerifier: true });
    const redirect = await approve(o.getAuthorizationUrl({}));
    const token = await o.requestToken(redirect.searchParams.get('code')!);
    expect(token.refresh_token).toBeTruthy();
    expect(Object.keys(token).sort()).toEqual(Object.keys(fixture('oauth-token-authorization_code.json')).sort());
  });

  it('denial and wrong passwords', async () => {
    const redirect = await approve(oauth2().getAuthorizationUrl({ state: 's' }), org.password, 'deny');
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    const page = await fetch(
      `${org.loginUrl}/services/oauth2/authorize?response_type=code&client_id=nope&redirect_uri=${encodeURIComponent('https://x.example/cb')}`,
    );
    expect(page.status).toBe(400);
  });

  it('token endpoint errors are the recorded bodies', async () => {
    const post = async (form: Record<string, string>) => {
      const res = await fetch(`${org.loginUrl}/services/oauth2/token`, { method: 'POST', body: new URLSearchParams(form) });
      return { status: res.status, body: await res.json() };
    };
    const base = { client_id: org.clientId, client_secret: org.clientSecret };
    expect(await post({ ...base, grant_type: 'password', username: org.username, password: 'wrong' })).toEqual({
      status: 400,
      body: fixture('oauth-error-invalid_grant-authentication-failure.json'),
    });
    expect(await post({ ...base, grant_type: 'refresh_token', refresh_token: 'nope' })).toEqual({
      status: 400,
      body: fixture('oauth-error-invalid_grant-expired-token.json'),
    });
    expect(await post({ ...base, client_id: 'unknown', grant_type: 'password' })).toEqual({
      status: 400,
      body: fixture('oauth-error-invalid_client_id.json'),
    });
    expect(await post({ ...base, grant_type: 'client_magic' })).toEqual({ status: 400, body: fixture('oauth-error-unsupported_grant_type.json') });
  });

  it('jsforce refreshes an expired access token by itself', async () => {
    const conn = connect(org);
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    await conn.query('SELECT Id FROM Lead');
    expect(refreshed).toHaveLength(1);
    const r = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-access-tokens' });
    expect(r.body.expired).toBeGreaterThan(0);
    const res = await conn.query('SELECT Id FROM Lead');
    expect(res.done).toBe(true);
    expect(refreshed).toHaveLength(2);
    expect(refreshed[1]).not.toBe(refreshed[0]);
  });

  it('access tokens expire with the clock; an invalid session is INVALID_SESSION_ID with 401', async () => {
    const short = await start({ accessTokenTtlMs: 60_000 });
    try {
      const o = await newOrg(short.url);
      const token = await new jsforce.OAuth2({ loginUrl: o.loginUrl, clientId: o.clientId, clientSecret: o.clientSecret }).refreshToken(o.refreshToken);
      const call = () => fetch(`${o.instanceUrl}/services/data/v59.0/limits`, { headers: { Authorization: `Bearer ${token.access_token}` } });
      expect((await call()).status).toBe(200);
      await admin(short.url, 'POST', '/__emulator/clock', { advanceMs: 61_000 });
      const res = await call();
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Token');
      expect(await res.json()).toEqual(fixture('error-INVALID_SESSION_ID.json'));
    } finally {
      await short.close();
    }
  });

  it('revoking a refresh token also ends the access tokens issued from it, and only those', async () => {
    const o = await newOrg(em.url);
    const app = () => new jsforce.OAuth2({ loginUrl: o.loginUrl, clientId: o.clientId, clientSecret: o.clientSecret });
    const fromRefresh = (await app().refreshToken(o.refreshToken)).access_token;
    const other = (await app().authenticate(o.username, o.password)).access_token;
    const userinfo = (token: string) => fetch(`${o.instanceUrl}/services/oauth2/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect((await userinfo(fromRefresh)).status).toBe(200);
    const revoked = await fetch(`${o.loginUrl}/services/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: o.refreshToken }),
    });
    expect(revoked.status).toBe(200);
    expect((await userinfo(fromRefresh)).status).toBe(403);
    expect((await userinfo(other)).status).toBe(200);
    expect((await expectSfError(app().refreshToken(o.refreshToken))).name).toBe('invalid_grant');
  });

  it('revoked refresh tokens stop working; userinfo and identity answer for live tokens', async () => {
    const o = await newOrg(em.url);
    const conn = connect(o);
    const identity = await conn.identity();
    expect(identity.organization_id).toBe(o.orgId);
    expect(identity.username).toBe(o.username);
    const userinfo: Any = await conn.request(`${o.instanceUrl}/services/oauth2/userinfo`);
    expect(Object.keys(userinfo).sort()).toEqual(Object.keys(fixture('userinfo.json')).sort());
    await new jsforce.OAuth2({ loginUrl: o.loginUrl, clientId: o.clientId, clientSecret: o.clientSecret }).revokeToken(o.refreshToken);
    const err = await expectSfError(
      new jsforce.OAuth2({ loginUrl: o.loginUrl, clientId: o.clientId, clientSecret: o.clientSecret }).refreshToken(o.refreshToken),
    );
    expect(err.name).toBe('invalid_grant');
    expect(err.message).toBe('expired access/refresh token');
  });
});

describe('PKCE (org option requirePkce)', () => {
  const redirectUri = 'https://app.example.com/oauth/callback';
  const verifier = 'a'.repeat(20) + 'B'.repeat(23);
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  function authorizeUrl(o: OrgCredentials, extra: Record<string, string> = {}): string {
    const q = new URLSearchParams({ response_type: 'code', client_id: o.clientId, redirect_uri: redirectUri, state: 's1', ...extra });
    return `${o.loginUrl}/services/oauth2/authorize?${q}`;
  }

  /** The user approves; the code from the redirect. */
  async function codeFor(o: OrgCredentials, extra: Record<string, string>): Promise<string> {
    const form = new URLSearchParams({
      response_type: 'code',
      client_id: o.clientId,
      redirect_uri: redirectUri,
      state: 's1',
      ...extra,
      username: o.username,
      password: o.password,
      action: 'allow',
    });
    const res = await fetch(`${o.loginUrl}/services/oauth2/authorize`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!).searchParams.get('code')!;
  }

  async function exchange(o: OrgCredentials, code: string, codeVerifier?: string): Promise<{ status: number; body: Any }> {
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      client_id: o.clientId,
      client_secret: o.clientSecret,
      redirect_uri: redirectUri,
    });
    if (codeVerifier !== undefined) form.set('code_verifier', codeVerifier);
    const res = await fetch(`${o.loginUrl}/services/oauth2/token`, { method: 'POST', body: form });
    return { status: res.status, body: await res.json() };
  }

  it('an org that requires PKCE sends an authorize request without a challenge back with invalid_request', async () => {
    const o = await newOrg(em.url, { requirePkce: true });
    const res = await fetch(authorizeUrl(o), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(redirectUri);
    expect(Object.fromEntries(back.searchParams)).toEqual({ error: 'invalid_request', error_description: 'missing required code challenge', state: 's1' });
    // With a challenge the approval page is shown.
    const page = await fetch(authorizeUrl(o, { code_challenge: challenge, code_challenge_method: 'S256' }));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Allow Access?');
  });

  it('an org that requires PKCE redeems a code only with the verifier of its challenge', async () => {
    const o = await newOrg(em.url, { requirePkce: true });
    const pkce = { code_challenge: challenge, code_challenge_method: 'S256' };
    expect(await exchange(o, await codeFor(o, pkce))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'invalid code verifier' } });
    expect(await exchange(o, await codeFor(o, pkce), 'x'.repeat(43))).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'invalid code verifier' },
    });
    const ok = await exchange(o, await codeFor(o, pkce), verifier);
    expect(ok.status).toBe(200);
    expect(ok.body.refresh_token).toBeTruthy();
  });

  it('without requirePkce a challenge sent is still verified, and none is needed', async () => {
    const o = await newOrg(em.url);
    const wrong = await exchange(o, await codeFor(o, { code_challenge: challenge }), 'y'.repeat(43));
    expect(wrong).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'invalid code verifier' } });
    expect((await exchange(o, await codeFor(o, { code_challenge: challenge }), verifier)).status).toBe(200);
    expect((await exchange(o, await codeFor(o, {}))).status).toBe(200);
  });
});
