/**
 * Redirects: a host allowed as the org's instance answers a REST call with a redirect to
 * somewhere else. jsforce follows redirects, with the same Authorization header, so the
 * org's bearer token would go to wherever the redirect points. forcehook follows none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { createOrg, waitUntil, type TestService } from '../../testkit/service.js';
import { startHostileStack, type FakeLogin, type HostileStack, type Listener } from '../../testkit/hostile.js';

let stack: HostileStack;
let emulator: RunningEmulator;
let svc: TestService;
let fake: FakeLogin;
let trap: Listener;
beforeAll(async () => {
  stack = await startHostileStack('sec-redirect');
  ({ emulator, svc, fake, trap } = stack);
});
afterAll(async () => {
  await stack?.close();
});

describe('redirects from a Salesforce-allowed host', () => {
  it('are not followed: the REST call fails, nothing reaches the redirect target, its answer is not echoed', async () => {
    const org = await createOrg(emulator.url);
    // The fake host is the org's login and instance: it passes everything on to the emulator...
    const c = await svc.api<{ id: string; instanceUrl: string }>('POST', '/v1/connections', {
      loginUrl: fake.url,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    expect(c.body.instanceUrl).toBe(fake.url);
    // ...until it answers the REST API with a redirect to the trap (which answers like a metadata service).
    fake.data = (req, res) => {
      res.statusCode = 302;
      res.setHeader('location', `${trap.url}/latest/meta-data/iam${req.url ?? ''}`);
      res.end();
    };
    const redirected = () => fake.seen.filter((s) => s.url.startsWith('/services/data/')).length;
    const before = redirected();
    let answered = false;
    const call = svc
      .api<{ error: { message: string } }>('POST', '/v1/subscriptions', {
        connectionId: c.body.id,
        trigger: 'record.created',
        object: 'Lead',
        destination: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
      })
      .finally(() => {
        answered = true;
      });
    // Whichever comes first: the answer, or a request at the trap (a followed redirect).
    await waitUntil(() => answered || trap.seen.length > 0, 50_000, 'an answer');
    expect(trap.seen).toEqual([]);
    const sub = await call;
    expect(redirected()).toBeGreaterThan(before);
    expect(sub.status).not.toBe(201);
    expect(JSON.stringify(sub.body)).not.toContain('ASIA-CANARY-SECRET');
  });
});
