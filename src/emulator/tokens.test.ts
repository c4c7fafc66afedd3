/**
 * The connected app's token policies, as Salesforce applies them: refresh-token
 * rotation (the used token retires after a short grace), sessions that time out
 * after inactivity (every use, CometD included, extends them) and refresh tokens
 * that lapse when idle. Each test has its own emulator: they move its clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { ROTATION_GRACE_MS } from './tokens.js';
import { admin, fixture, newOrg, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';

let em: RunningEmulator | undefined;
afterEach(async () => {
  await em?.close();
  em = undefined;
});

async function refresh(org: OrgCredentials, refreshToken: string): Promise<{ status: number; body: Any }> {
  const res = await fetch(`${org.loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: org.clientId, client_secret: org.clientSecret }),
  });
  return { status: res.status, body: await res.json() };
}

const rest = async (org: OrgCredentials, token: string) =>
  (await fetch(`${org.instanceUrl}/services/data/v59.0/limits`, { headers: { Authorization: `Bearer ${token}` } })).status;

const advance = (ms: number) => admin(em!.url, 'POST', '/__emulator/clock', { advanceMs: ms });
const stats = async (org: OrgCredentials) => (await admin(em!.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).body;

describe('refresh-token rotation (rotateRefreshTokens)', () => {
  it('every refresh answers a new refresh token; the used one works only within the grace, then is invalid_grant', async () => {
    em = await start();
    const org = await newOrg(em.url, { rotateRefreshTokens: true });
    const first = await refresh(org, org.refreshToken);
    expect(first.status).toBe(200);
    const r2 = first.body.refresh_token as string;
    expect(r2).toMatch(/^5Aep861/);
    expect(r2).not.toBe(org.refreshToken);
    expect(await rest(org, first.body.access_token)).toBe(200);

    // A client that lost the answer may retry with the old token for a moment.
    await advance(ROTATION_GRACE_MS - 5_000);
    const retry = await refresh(org, org.refreshToken);
    expect(retry.status).toBe(200);
    expect((await stats(org)).rotatedTokenReuses).toBe(1);
    await advance(10_000);
    expect(await refresh(org, org.refreshToken)).toEqual({ status: 400, body: fixture('oauth-error-invalid_grant-expired-token.json') });

    // The successor works and rotates in turn.
    const second = await refresh(org, r2);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(r2);
    expect((await stats(org)).tokenRefreshes).toBe(3);
  });

  it('without rotation a refresh answers no refresh token and the token keeps working', async () => {
    em = await start();
    const org = await newOrg(em.url);
    expect((await refresh(org, org.refreshToken)).body.refresh_token).toBeUndefined();
    await advance(ROTATION_GRACE_MS * 10);
    expect((await refresh(org, org.refreshToken)).status).toBe(200);
  });
});

describe('sessions (sessionTimeoutMs)', () => {
  it('an access token lapses after the timeout without use; each use extends it', async () => {
    em = await start();
    const org = await newOrg(em.url, { sessionTimeoutMs: 60_000 });
    const token = (await refresh(org, org.refreshToken)).body.access_token as string;
    await advance(50_000);
    expect(await rest(org, token)).toBe(200);
    await advance(50_000);
    // 100 s after it was issued, but only 50 s after its last use.
    expect(await rest(org, token)).toBe(200);
    await advance(61_000);
    expect(await rest(org, token)).toBe(401);
  });

  it('a CometD connect is a use: a connected client keeps its session alive', async () => {
    em = await start();
    const org = await newOrg(em.url, { sessionTimeoutMs: 60_000 });
    const token = (await refresh(org, org.refreshToken)).body.access_token as string;
    let cookie = '';
    const cometd = async (msg: Record<string, unknown>): Promise<Any> => {
      const res = await fetch(`${org.instanceUrl}/cometd/59.0`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `OAuth ${token}`, ...(cookie ? { cookie } : {}) },
        body: JSON.stringify([msg]),
      });
      const set = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      if (set) cookie = set;
      return ((await res.json()) as Any[])[0];
    };
    const hs = await cometd({ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] });
    expect(hs.successful).toBe(true);
    for (let i = 0; i < 3; i++) {
      await advance(50_000);
      const c = await cometd({ channel: '/meta/connect', clientId: hs.clientId, connectionType: 'long-polling' });
      expect(c.successful).toBe(true);
    }
    // 150 s since issue, no REST use at all: the streaming client kept the session.
    await advance(50_000);
    expect(await rest(org, token)).toBe(200);
  });
});

describe('idle refresh tokens (refreshTokenIdleMs)', () => {
  const DAY = 86_400_000;
  it('a refresh token not used for the limit is invalid_grant; each use restarts the window', async () => {
    em = await start();
    const org = await newOrg(em.url, { refreshTokenIdleMs: 30 * DAY });
    for (let i = 0; i < 3; i++) {
      await advance(29 * DAY);
      expect((await refresh(org, org.refreshToken)).status).toBe(200);
    }
    await advance(30 * DAY);
    const lapsed = await refresh(org, org.refreshToken);
    expect(lapsed).toEqual({ status: 400, body: fixture('oauth-error-invalid_grant-expired-token.json') });
  });

  it('with rotation the successor inherits the idle limit', async () => {
    em = await start();
    const org = await newOrg(em.url, { refreshTokenIdleMs: DAY, rotateRefreshTokens: true });
    const next = (await refresh(org, org.refreshToken)).body.refresh_token as string;
    await advance(DAY + 1);
    expect((await refresh(org, next)).status).toBe(400);
  });

  it('the admin API refuses bad option values', async () => {
    em = await start();
    const r = await admin(em.url, 'POST', '/__emulator/orgs', { sessionTimeoutMs: -1 });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^sessionTimeoutMs/);
  });
});
