/**
 * Callback replay: the same OAuth callback (or the same `state` with another
 * fresh code) delivered to a second instance, or again after a restart, must
 * not complete a connect session twice. Two real service instances share one
 * topic prefix (one state topic); exactly one redeems the session, the other
 * answers a clear error, and the session's record says how it ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, startTestEmulator, startTestService, type OrgCredentials, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

/** The user (or someone holding the authorize URL) approves at Salesforce: the callback URL Salesforce redirects to. */
async function approve(org: OrgCredentials, authorizeUrl: string): Promise<URL> {
  const form = new URLSearchParams(Object.fromEntries(new URL(authorizeUrl).searchParams));
  form.set('username', org.username);
  form.set('password', org.password);
  form.set('action', 'allow');
  const res = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

/** The same callback, sent to `instance`. */
function at(instance: TestService, callback: URL): string {
  return `${instance.service.url}${callback.pathname}${callback.search}`;
}

async function deliver(url: string): Promise<{ status: number; location: string | null; body: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

async function connectionsOf(svc: TestService, orgId: string): Promise<{ id: string; updatedAt: string }[]> {
  const list = await svc.api<{ data: { id: string; orgId: string; updatedAt: string }[] }>('GET', '/v1/connections');
  return list.body.data.filter((c) => c.orgId === orgId);
}

describe('callback replay', () => {
  it('the same callback on two instances, and a replay after a restart: one connection, the others refused', async () => {
    const prefix = uniquePrefix('callback-replay');
    let a = await startTestService({ prefix, instanceId: 'a' });
    const b = await startTestService({ prefix, instanceId: 'b' });
    try {
      const org = await createOrg(emulator.url);
      const session = await a.api<{ id: string; authorizeUrl: string }>('POST', '/v1/connect-sessions', {
        loginUrl: org.loginUrl,
        oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
        returnUrl: 'https://app.example.com/back',
      });
      expect(session.status).toBe(201);
      expect(session.body.id).toEqual(expect.any(String));
      // Two approvals of the one authorize URL: two fresh codes, one state.
      const first = await approve(org, session.body.authorizeUrl);
      const second = await approve(org, session.body.authorizeUrl);
      expect(first.searchParams.get('state')).toBe(second.searchParams.get('state'));

      // The same callback reaches both instances at once (a retrying proxy, a replayed request).
      const answers = await Promise.all([deliver(at(a, first)), deliver(at(b, first))]);
      const ok = answers.filter((r) => r.status === 303);
      const refused = answers.filter((r) => r.status !== 303);
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]!.status).toBe(400);
      expect(refused[0]!.body).toMatch(/already used/);
      const back = new URL(ok[0]!.location!);
      expect(back.searchParams.get('connectSessionId')).toBe(session.body.id);
      const connectionId = back.searchParams.get('connectionId')!;

      // Either instance tells how the session ended.
      for (const svc of [a, b]) {
        const view = await svc.api<{ id: string; status: string; connectionId?: string }>('GET', `/v1/connect-sessions/${session.body.id}`);
        expect(view.body).toMatchObject({ id: session.body.id, status: 'completed', connectionId });
      }
      const before = await connectionsOf(b, org.orgId);
      expect(before.map((c) => c.id)).toEqual([connectionId]);

      // A restarted instance remembers: the same state with a fresh, unused code is refused.
      await a.stop();
      a = await startTestService({ prefix, instanceId: 'a2' });
      const replay = await deliver(at(a, second));
      expect(replay.status).toBe(400);
      expect(replay.body).toMatch(/already used/);
      const after = await connectionsOf(a, org.orgId);
      // Still one connection, and its grant was not replaced.
      expect(after).toEqual(before);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
