/**
 * DNS rebinding: a host name that passes the host rule (a Salesforce host, or one the operator
 * listed) but resolves, when forcehook connects, to a private address. Checking the URL once and
 * connecting later would let DNS change in between; every Salesforce client (the token endpoint,
 * jsforce's REST calls, faye's streaming) checks the address it connects to, at connect time.
 * `localhost` plays the rebound name: listed as allowed, it resolves to loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../src/core/log.js';
import { retryPolicy } from '../../src/core/retry.js';
import { createSalesforceEgress } from '../../src/net/salesforce-egress.js';
import { createFayeClient, closeFayeClient } from '../../src/source/cdc/faye-client.js';
import { refreshAccessToken } from '../../src/salesforce/oauth.js';
import { OrgSession } from '../../src/salesforce/session.js';
import { waitUntil } from '../../testkit/service.js';
import { canary, type Listener } from '../../testkit/hostile.js';

// Private networks not allowed (the production default); `localhost` passes the host rule.
const egress = createSalesforceEgress({ hosts: ['localhost'], allowPrivate: false });
let trap: Listener;
beforeAll(async () => {
  trap = await canary();
});
afterAll(async () => {
  await trap?.close();
  await egress.dispatcher.close();
});

describe('a Salesforce-allowed name that resolves to a private address at connect time', () => {
  it('the token endpoint is not called', async () => {
    const client = { loginUrl: `http://localhost:${trap.port}`, clientId: 'app', clientSecret: 'secret' };
    await expect(refreshAccessToken(client, 'a-refresh-token', egress)).rejects.toMatchObject({ code: 'FORBIDDEN_DESTINATION' });
    expect(trap.connections()).toBe(0);
  });

  it('REST calls (jsforce) do not connect, and the bearer token goes nowhere', async () => {
    const session = new OrgSession({
      connectionId: 'c1',
      orgId: '00D000000000001AAA',
      instanceUrl: `http://localhost:${trap.port}`,
      accessToken: 'the-orgs-bearer-token',
      oauth: { loginUrl: `http://localhost:${trap.port}`, clientId: 'app', clientSecret: 'secret' },
      refreshToken: 'a-refresh-token',
      logger: testLogger(),
      egress,
    });
    await expect(session.jsforce().query('SELECT Id FROM Lead')).rejects.toMatchObject({ code: 'FORBIDDEN_DESTINATION' });
    session.close();
    expect(trap.connections()).toBe(0);
    expect(trap.seen).toEqual([]);
  });

  it('the streaming client (faye) does not connect', async () => {
    const client = createFayeClient(
      `https://localhost:${trap.port}/cometd/59.0`,
      'the-orgs-bearer-token',
      retryPolicy({ initialDelayMs: 50, maxDelayMs: 100 }),
      egress,
    );
    let down = false;
    client.bind('transport:down', () => {
      down = true;
    });
    client.subscribe('/data/ChangeEvents', () => undefined).then(undefined, () => undefined);
    try {
      await waitUntil(() => down || trap.connections() > 0, 10_000, 'the handshake to fail or connect');
      expect(trap.connections()).toBe(0);
    } finally {
      closeFayeClient(client);
    }
  });
});
