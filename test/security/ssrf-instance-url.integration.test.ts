/**
 * SSRF through the instance URL: an API client registers a connection whose login URL it controls,
 * and its token endpoint answers an `instance_url` of its choosing (a cloud metadata address, a host
 * that is no Salesforce host). forcehook would send the org's bearer token there with every REST and
 * streaming call. It must refuse the connection, and not follow such a URL when a refresh reports it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { adminCall, createOrg, waitUntil, type TestService } from '../../testkit/service.js';
import { startHostileStack, type FakeLogin, type HostileStack, type Listener } from '../../testkit/hostile.js';

let stack: HostileStack;
let emulator: RunningEmulator;
let svc: TestService;
let fake: FakeLogin;
let trap: Listener;
beforeAll(async () => {
  stack = await startHostileStack('sec-ssrf');
  ({ emulator, svc, fake, trap } = stack);
});
afterAll(async () => {
  await stack?.close();
});

interface ConnView {
  id: string;
  orgId: string;
  instanceUrl: string;
}

describe('SSRF through the instance URL', () => {
  it('a token endpoint answering a metadata address or a non-Salesforce host as instance_url: the connection is refused and nothing is sent there', async () => {
    const org = await createOrg(emulator.url);
    const hostile = ['http://169.254.169.254/latest/meta-data/iam/security-credentials/', `http://localhost:${trap.port}/`, 'https://evil.example.com/'];
    for (const instanceUrl of hostile) {
      fake.instanceUrl = instanceUrl;
      const r = await svc.api<{ error: { code: string; message: string } }>('POST', '/v1/connections', {
        loginUrl: fake.url,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      expect(r.status, instanceUrl).toBe(400);
      expect(r.body.error.code, instanceUrl).toBe('FORBIDDEN_DESTINATION');
      expect(r.body.error.message, instanceUrl).toMatch(/instanceUrl/);
    }
    const all = await svc.api<{ data: ConnView[] }>('GET', '/v1/connections');
    expect(all.body.data.filter((c) => c.orgId === org.orgId)).toEqual([]);
    expect(trap.seen).toEqual([]);
  });

  it('a refresh that reports such an instance URL is not followed: the bearer token never goes there and the stored instance URL stays', async () => {
    const org = await createOrg(emulator.url);
    fake.instanceUrl = org.instanceUrl;
    const c = await svc.api<ConnView>('POST', '/v1/connections', {
      loginUrl: fake.url,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const sub = await svc.api('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
    });
    expect(sub.status).toBe(201);

    // From now on the token endpoint reports the trap; the org's sessions end, so the next call refreshes.
    fake.instanceUrl = `http://localhost:${trap.port}`;
    const tokenCalls = () => fake.seen.filter((s) => s.url.startsWith('/services/oauth2/token')).length;
    const before = tokenCalls();
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-access-tokens' });
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'drop-streaming-clients' });
    // The stream handshakes again, is refused, refreshes; a refused refresh is tried again after a backoff.
    // Followed, the new instance URL would get the next handshake, with the new bearer token.
    await waitUntil(() => tokenCalls() >= before + 2 || trap.seen.length > 0, 30_000, 'two refreshes, or a call at the trap');

    expect(trap.seen).toEqual([]);
    const view = await svc.api<ConnView>('GET', `/v1/connections/${c.body.id}`);
    expect(view.body.instanceUrl).toBe(org.instanceUrl);
  });
});
