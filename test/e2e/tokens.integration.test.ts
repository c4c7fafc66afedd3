/**
 * Orgs with strict token policies: refresh-token rotation (each refresh spends the
 * token used), sessions that time out when unused and refresh tokens that lapse when
 * idle. The connection must stay `active` and events must keep flowing through
 * connecting, expired sessions, a restart and a second instance, and nobody may
 * present a rotated-away refresh token (the emulator counts those: within its grace
 * they still work, which would hide a second refresher).
 */
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  adminCall,
  createOrg,
  readEvents,
  startTestEmulator,
  startTestService,
  waitUntil,
  type OrgCredentials,
  type TestService,
} from '../../testkit/service.js';
import { follow as followOrg, subscribe, viewConnection } from '../../testkit/connections.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

const DAY = 86_400_000;

interface TokenStats {
  tokenRefreshes: number;
  rotatedTokenReuses: number;
}
const stats = (org: OrgCredentials) => adminCall<TokenStats>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
const fault = (org: OrgCredentials, kind: string) => adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind });

const view = (svc: TestService, id: string) => viewConnection(svc.api, id);

const connectAndFollowLeads = (svc: TestService, org: OrgCredentials) => followOrg(svc.api, org, { triggers: ['record.created'] });
const follow = async (svc: TestService, connectionId: string) => void (await subscribe(svc.api, connectionId, { triggers: ['record.created'] }));

/** The org's sessions end and its streaming clients must handshake again: only a refresh gets the service back in. */
async function endSessions(org: OrgCredentials): Promise<void> {
  await fault(org, 'expire-access-tokens');
  await fault(org, 'drop-streaming-clients');
}

async function createLeadAndSeeIt(org: OrgCredentials, reader: Awaited<ReturnType<typeof readEvents>>, lastName: string): Promise<void> {
  // The user's own login (password flow): the org's refresh token belongs to the service, and spending it
  // here would rotate it away from under the service.
  const user = new jsforce.Connection({ oauth2: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret }, version: '59.0' });
  await user.login(org.username, org.password);
  const created = await user.sobject('Lead').create({ LastName: lastName, Company: 'Tokens' });
  const id = (created as { id: string }).id;
  await reader.waitFor((es) => es.some((e) => e.data.recordId === id), 30_000, `the created event of ${lastName}`);
}

describe('refresh-token rotation', () => {
  it('POST /v1/connections, expired sessions and a restart keep the connection active; no rotated token is ever reused', async () => {
    const org = await createOrg(emulator.url, { rotateRefreshTokens: true });
    const prefix = uniquePrefix('tokens-rotate');
    const reader = await readEvents(prefix);
    let svc = await startTestService({ prefix });
    try {
      const id = await connectAndFollowLeads(svc, org);
      // Connecting spent the token it was given: the one answered was stored and is used from here on.
      await waitUntil(async () => (await view(svc, id)).subscriber === 'running', 30_000, 'the org followed');
      await createLeadAndSeeIt(org, reader, 'Before');

      await endSessions(org);
      await createLeadAndSeeIt(org, reader, 'AfterExpiry');
      expect((await view(svc, id)).status).toBe('active');

      await svc.stop();
      await endSessions(org);
      svc = await startTestService({ prefix });
      await waitUntil(async () => (await view(svc, id)).subscriber === 'running', 30_000, 'the org followed after the restart');
      await createLeadAndSeeIt(org, reader, 'AfterRestart');
      await endSessions(org);
      await createLeadAndSeeIt(org, reader, 'AfterRestartAndExpiry');

      expect((await view(svc, id)).status).toBe('active');
      const s = await stats(org);
      expect(s.tokenRefreshes).toBeGreaterThanOrEqual(3);
      expect(s.rotatedTokenReuses).toBe(0);
    } finally {
      await svc.stop();
      await reader.stop();
    }
  });

  it('two instances: only the owner refreshes; the other gets its session from the owner', async () => {
    const org = await createOrg(emulator.url, { rotateRefreshTokens: true });
    const prefix = uniquePrefix('tokens-two');
    const reader = await readEvents(prefix);
    const [a, b] = await Promise.all([startTestService({ prefix, instanceId: 'a' }), startTestService({ prefix, instanceId: 'b' })]);
    try {
      const id = await connectAndFollowLeads(a!, org);
      const owner = async () => {
        for (const i of [a!, b!]) if (i.service.sources.status(id)?.subscriber === 'running') return i;
        return undefined;
      };
      await waitUntil(async () => (await owner()) !== undefined, 45_000, 'one instance following the org');
      const follower = (await owner())!;
      const other = follower === a ? b! : a!;
      await createLeadAndSeeIt(org, reader, 'TwoBefore');

      await endSessions(org);
      // Both need a new session at once: the follower's stream, and the other instance's check of a
      // new subscription's object (a describe), which runs on the session on record.
      const [sub] = await Promise.all([
        other.api('POST', '/v1/subscriptions', {
          connectionId: id,
          trigger: 'record.created',
          object: 'Contact',
          destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
        }),
        createLeadAndSeeIt(org, reader, 'TwoAfterExpiry'),
      ]);
      expect(sub.status).toBe(201);
      for (const i of [a!, b!]) expect((await view(i, id)).status).toBe('active');
      expect((await stats(org)).rotatedTokenReuses).toBe(0);
    } finally {
      await Promise.all([a!.stop(), b!.stop()]);
      await reader.stop();
    }
  });

  it('the browser flow (connect session and callback) stores the grant and survives expired sessions', async () => {
    const org = await createOrg(emulator.url, { rotateRefreshTokens: true });
    const prefix = uniquePrefix('tokens-browser');
    const reader = await readEvents(prefix);
    const svc = await startTestService({ prefix });
    try {
      const session = await svc.api<{ authorizeUrl: string }>('POST', '/v1/connect-sessions', {
        loginUrl: org.loginUrl,
        oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
      });
      expect(session.status).toBe(201);
      const authorize = new URL(session.body.authorizeUrl);
      const form = new URLSearchParams(Object.fromEntries(authorize.searchParams));
      form.set('username', org.username);
      form.set('password', org.password);
      form.set('action', 'allow');
      const approved = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
      const done = await fetch(approved.headers.get('location')!, { redirect: 'manual' });
      expect(done.status).toBe(201);
      const { id } = (await done.json()) as { id: string };
      await follow(svc, id);
      await waitUntil(async () => (await view(svc, id)).subscriber === 'running', 30_000, 'the org followed');
      for (const name of ['BrowserAfterExpiry1', 'BrowserAfterExpiry2']) {
        await endSessions(org);
        await createLeadAndSeeIt(org, reader, name);
      }
      expect((await view(svc, id)).status).toBe('active');
      expect((await stats(org)).rotatedTokenReuses).toBe(0);
    } finally {
      await svc.stop();
      await reader.stop();
    }
  });
});

describe('idle refresh tokens', () => {
  it('a 30-day idle limit and 40 days of a healthy stream: the scheduled refresh keeps the grant alive', async () => {
    // Sessions outlive the clock's 5-day steps: a stream whose session lapsed mid-step would reconnect and catch up
    // across days of emulated time, which is another matter than the idle limit of refresh tokens tested here.
    const org = await createOrg(emulator.url, { refreshTokenIdleMs: 30 * DAY, sessionTimeoutMs: 60 * DAY });
    const prefix = uniquePrefix('tokens-idle');
    const reader = await readEvents(prefix);
    // One second stands for the daily default: the emulator's clock moves days between the service's refreshes.
    const svc = await startTestService({ prefix, tokenRefreshIntervalS: 1 });
    try {
      const id = await connectAndFollowLeads(svc, org);
      await waitUntil(async () => (await view(svc, id)).subscriber === 'running', 30_000, 'the org followed');
      for (let day = 5; day <= 40; day += 5) {
        const before = (await stats(org)).tokenRefreshes;
        await adminCall(emulator.url, 'POST', '/__emulator/clock', { advanceMs: 5 * DAY });
        // The stream alone never needs a new session; only the schedule uses the refresh token.
        await waitUntil(async () => (await stats(org)).tokenRefreshes > before, 15_000, `a refresh after day ${day}`);
      }
      // Day 40, ten days past the idle limit of the grant the service was given: the scheduled refresh of
      // this last step succeeded (above), the connection is active, a session serves a new subscription's
      // object check, and the stream still delivers. Sessions are not ended here: the stream's catch-up after
      // a re-handshake would span 40 emulated days, and the service bounds its getDeleted window by its own
      // clock (15 days), which this test's emulator clock has left 40 days behind: a clock skew no real org has.
      const sub = await svc.api('POST', '/v1/subscriptions', {
        connectionId: id,
        trigger: 'record.created',
        object: 'Contact',
        destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
      });
      expect(sub.status).toBe(201);
      await createLeadAndSeeIt(org, reader, 'Day40');
      const v = await view(svc, id);
      expect(v.status).toBe('active');
      expect(Date.parse(v.tokenRefreshedAt!)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await svc.stop();
      await reader.stop();
    }
  });
});
