import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { startEmulator, type RunningEmulator } from '../emulator/server.js';
import { admin, emulatorEgress, newOrg } from '../../testkit/source/polling.js';
import { OrgSession } from './session.js';

let em: RunningEmulator;
beforeAll(async () => {
  em = await startEmulator({ logger: testLogger() });
});
afterAll(async () => {
  await em.close();
});

describe('OrgSession when the org moves to another instance', () => {
  it('learns the new instance URL from a refresh, reports it once, and a request caught at the old instance fails instead of refreshing for ever', async () => {
    const org = await newOrg(em.url);
    const moves: string[] = [];
    const session = new OrgSession({
      connectionId: 'c1',
      orgId: org.orgId,
      instanceUrl: org.instanceUrl,
      oauth: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret },
      refreshToken: org.refreshToken,
      logger: testLogger(),
      egress: emulatorEgress,
      onInstanceUrl: (url) => moves.push(url),
    });
    const conn = session.jsforce();
    await conn.query('SELECT Id FROM User');
    const moved = await admin<{ instanceUrl: string }>(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'move-instance' });

    // jsforce retries a refused request at the URL it was built with, after every refresh
    // (jsforce#1766): the session ends that after one refresh, and the caller retries.
    await expect(conn.query('SELECT Id FROM User')).rejects.toThrow(/the org moved to/);
    expect(session.instanceUrl).toBe(moved.instanceUrl);
    expect(moves).toEqual([moved.instanceUrl]);
    const again = await conn.query('SELECT Id FROM User');
    expect(again.totalSize).toBe(1);
    expect(moves).toHaveLength(1);
    session.close();
  }, 20_000);
});
