/**
 * `forcehook emulator --port 0` prints its ready line, and a jsforce
 * program written from the public docs alone (test/outside/) works against it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnForcehook } from '../../testkit/process.js';

const SCRIPT = fileURLToPath(new URL('./jsforce-docs-script.cjs', import.meta.url));

describe('an outside jsforce program', () => {
  it('runs unchanged against `forcehook emulator`', async () => {
    const em = await spawnForcehook(['emulator', '--port', '0'], { LOG_LEVEL: 'warn' });
    try {
      expect(em.lines.filter((l) => l.includes('"event":"ready"'))).toHaveLength(1);
      const url = em.ready.url as string;
      const org = (await (
        await fetch(`${url}/__emulator/orgs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
      ).json()) as Record<string, string>;
      const r = spawnSync(process.execPath, [SCRIPT], {
        env: {
          ...process.env,
          LOGIN_URL: org.loginUrl,
          CLIENT_ID: org.clientId,
          CLIENT_SECRET: org.clientSecret,
          SF_USERNAME: org.username,
          SF_PASSWORD: org.password,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(out).toMatchObject({ orgId: org.orgId, retrievedName: 'My Account #1', queried: 3, found: 2, count: 3, deletedSeen: 1, hasAccount: true });
      expect(out.fields).toBeGreaterThan(10);
    } finally {
      await em.kill('SIGTERM');
    }
    expect(await em.exited).toBe(0);
  }, 90_000);
});
