/**
 * ctx.salesforce on an instance that does not follow the org: a session built
 * from the stored grant, cached, refreshed once for many callers, and replaced
 * when the grant changes. Against the emulator's OAuth and REST API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { emulatorEgress } from '../../testkit/source/polling.js';
import { OrgSession } from './session.js';
import type { ConnectionRecord } from '../state/records.js';
import type { RunningEmulator } from '../emulator/server.js';
import { adminCall, createOrg, startTestEmulator, type OrgCredentials } from '../../testkit/service.js';
import { OrgSessions } from './sessions.js';

let emulator: RunningEmulator;
let org: OrgCredentials;
beforeAll(async () => {
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url);
});
afterAll(async () => {
  await emulator?.close();
});

function setup(opts: { supervisorSession?: OrgSession } = {}) {
  const lines: { msg: string }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) } });
  const now = new Date().toISOString();
  const records = new Map<string, ConnectionRecord>([
    [
      'c1',
      {
        id: 'c1',
        orgId: org.orgId,
        loginUrl: org.loginUrl,
        instanceUrl: org.instanceUrl,
        clientId: org.clientId,
        clientSecret: 'sealed',
        refreshToken: 'sealed-grant-1',
        status: 'active',
        createdAt: now,
        updatedAt: now,
      },
    ],
  ]);
  const reauth: string[] = [];
  const sf = new OrgSessions({
    store: { connection: (id) => records.get(id) },
    connections: {
      credentials: () => ({ oauth: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret }, refreshToken: org.refreshToken }),
      markNeedsReauth: async (id) => void reauth.push(id),
    },
    sources: { supervisor: () => (opts.supervisorSession ? { session: opts.supervisorSession } : undefined) },
    logger,
    egress: emulatorEgress,
  });
  const refreshes = () => lines.filter((l) => l.msg === 'access token refreshed').length;
  return { sf, records, reauth, refreshes };
}

describe('OrgSessions', () => {
  it('builds a session from the stored grant, keeps it, and refreshes once for concurrent callers', async () => {
    const { sf, refreshes } = setup();
    const conn = sf.connection('c1');
    expect((await conn.query('SELECT Id FROM Lead')).done).toBe(true);
    expect(sf.connection('c1')).toBe(conn);
    expect(refreshes()).toBe(1);
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-access-tokens' });
    const results = await Promise.all(Array.from({ length: 6 }, () => sf.connection('c1').query('SELECT Id FROM Lead')));
    expect(results.every((r) => r.done)).toBe(true);
    expect(refreshes()).toBe(2);
    sf.close();
  });

  it('prefers the session of a supervisor following the org', () => {
    const followed = new OrgSession({
      connectionId: 'c1',
      orgId: org.orgId,
      instanceUrl: org.instanceUrl,
      oauth: { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret },
      refreshToken: org.refreshToken,
      logger: createLogger({ level: 'silent' }),
      egress: emulatorEgress,
    });
    const { sf } = setup({ supervisorSession: followed });
    expect(sf.session('c1')).toBe(followed);
    followed.close();
    // A stopped supervisor's session is not lent out.
    expect(sf.session('c1')).not.toBe(followed);
    sf.close();
  });

  it('a new grant (re-authorization) means a new session; a missing connection is terminal, needs_reauth retriable', () => {
    const { sf, records } = setup();
    const first = sf.session('c1');
    expect(sf.session('c1')).toBe(first);
    records.set('c1', { ...records.get('c1')!, refreshToken: 'sealed-grant-2', grantId: 'grant-2' });
    const second = sf.session('c1');
    expect(second).not.toBe(first);
    expect(first.state).toBe('closed');
    records.set('c1', { ...records.get('c1')!, status: 'needs_reauth' });
    expect(() => sf.session('c1')).toThrow(TransientError);
    records.delete('c1');
    expect(() => sf.session('c1')).toThrow(TerminalError);
    expect(second.state).toBe('closed');
    sf.close();
  });

  it('a revoked grant marks the connection needs_reauth', async () => {
    const fresh = await createOrg(emulator.url);
    const saved = org;
    org = fresh;
    try {
      const { sf, reauth } = setup();
      await sf.connection('c1').query('SELECT Id FROM Lead');
      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${fresh.orgId}/faults`, { kind: 'revoke-refresh-tokens' });
      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${fresh.orgId}/faults`, { kind: 'expire-access-tokens' });
      // jsforce wraps the refresh failure in a plain Error: the executor retries it, and later attempts
      // find the connection in needs_reauth (a TransientError) until someone re-authorizes.
      await expect(sf.connection('c1').query('SELECT Id FROM Lead')).rejects.toThrow(/invalid_grant/);
      expect(sf.session('c1').state).toBe('needs_reauth');
      await new Promise((r) => setTimeout(r, 50));
      expect(reauth).toEqual(['c1']);
      sf.close();
    } finally {
      org = saved;
    }
  });
});
