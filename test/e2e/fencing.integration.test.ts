/**
 * Fencing and crash with two instances sharing orgs (group `<prefix>.owners`, src/source/ownership.ts), Kafka and
 * the emulator real, steady Lead changes on every org throughout:
 * - A (its own process) is frozen with SIGSTOP, as by a long GC pause or a suspended VM: B takes A's orgs once
 *   the session timeout expired. A is resumed (SIGCONT): the first thing it does is fence itself (its stale CometD
 *   clients go), before Kafka told it that it is no longer a member, and from then on each org has at most one
 *   streaming client at the emulator, through the rebalance A's return causes.
 * - A is killed (SIGKILL): B follows every org after the session timeout.
 * - Every Lead change the emulator committed is on `<prefix>.events` under its contract id; duplicates only
 *   under the same id.
 * The session timeout is shortened to 8 s (FORCEHOOK_OWNERS_SESSION_TIMEOUT_MS) so the test need not wait 30 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { spawnForcehook, type Spawned } from '../../testkit/process.js';
import {
  API_TOKEN,
  SECRET_KEY,
  adminCall,
  createOrg,
  readEvents,
  startTestEmulator,
  startTestService,
  waitUntil,
  type OrgCredentials,
  type TestService,
  expectedLeadEvents,
  httpApi,
} from '../../testkit/service.js';

const SESSION_MS = 8_000;
const HANDOVER_MS = 3_000;
/** After SIGCONT, A's stale clients must be gone within this (its fence fires on its first timer). */
const STALE_GRACE_MS = 1_500;

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A's pino lines (stdout), parsed. */
const logOf = (a: Spawned): { msg?: string; silentMs?: number; time?: string }[] =>
  a.lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as { msg?: string; silentMs?: number; time?: string }];
    } catch {
      return [];
    }
  });

describe('fencing and crash, two instances', () => {
  it('a frozen owner is replaced after the session timeout and fences itself on waking; a killed one is replaced; nothing lost', async () => {
    const t0 = Date.now();
    const prefix = uniquePrefix('fencing');
    const reader = await readEvents(prefix);
    const env = {
      KAFKA_BROKERS: testBrokers().join(','),
      FORCEHOOK_TOPIC_PREFIX: prefix,
      FORCEHOOK_API_TOKEN: API_TOKEN,
      FORCEHOOK_SECRET_KEY: SECRET_KEY,
      FORCEHOOK_HTTP_PORT: '0',
      FORCEHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      FORCEHOOK_SALESFORCE_HOSTS: '127.0.0.1',
      FORCEHOOK_ROLES: 'source',
      FORCEHOOK_POLL_INTERVAL_S: '1',
      FORCEHOOK_OWNERS_SESSION_TIMEOUT_MS: String(SESSION_MS),
      LOG_LEVEL: 'warn',
    };
    let a: Spawned | undefined;
    let b: TestService | undefined;
    let sampler: NodeJS.Timeout | undefined;
    const orgs: OrgCredentials[] = [];
    try {
      a = await spawnForcehook(['serve'], env);
      b = await startTestService({ prefix, instanceId: 'b', roles: ['source'], ownersSessionTimeoutMs: SESSION_MS });
      const B = b;
      await waitUntil(
        () => {
          const o = B.service.ownership();
          return !!o && o.owned.length > 0 && o.owned.length < 32 && o.handover.length === 0;
        },
        60_000,
        'A and B sharing the 32 assignment partitions',
      );

      const clients = (org: OrgCredentials): number => emulator.cometd.stats(org.orgId).streamingClients;
      const ids: string[] = [];
      const followedByB = (i: number): boolean => B.service.sources.status(ids[i]!)?.subscriber === 'running';
      const addOrg = async (): Promise<void> => {
        const org = await createOrg(emulator.url);
        const conn = await B.api<{ id: string }>('POST', '/v1/connections', {
          loginUrl: org.loginUrl,
          clientId: org.clientId,
          clientSecret: org.clientSecret,
          refreshToken: org.refreshToken,
        });
        expect(conn.status).toBe(201);
        const sub = await B.api('POST', '/v1/subscriptions', {
          connectionId: conn.body.id,
          trigger: 'record.updated',
          object: 'Lead',
          destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
        });
        expect(sub.status).toBe(201);
        orgs.push(org);
        ids.push(conn.body.id);
      };
      // Six orgs, more while either instance follows fewer than two (the split is by hash of random ids).
      for (let i = 0; i < 6; i++) await addOrg();
      const oneEach = () => orgs.every((o) => clients(o) === 1);
      const aApi = httpApi(a.ready.url as string);
      /** Per org, whether A (its own API) says it follows it. */
      const aFollows = async (): Promise<boolean[]> =>
        Promise.all(
          ids.map(
            async (id) =>
              (await aApi<{ subscriber?: string }>('GET', `/v1/connections/${id}`).catch(() => ({ body: {} as { subscriber?: string } }))).body.subscriber ===
              'running',
          ),
        );
      /** Each org has one streaming client, and exactly one of A and B follows it. */
      const split = async (): Promise<boolean[] | undefined> => {
        if (!oneEach()) return undefined;
        const byA = await aFollows();
        return byA.every((x, i) => x !== followedByB(i)) ? byA : undefined;
      };
      let byA: boolean[] = [];
      for (;;) {
        await waitUntil(async () => (byA = (await split()) ?? []).length > 0, 30_000, 'every org followed by one instance, one streaming client each');
        const n = byA.filter(Boolean).length;
        if ((n >= 2 && orgs.length - n >= 2) || orgs.length >= 14) break;
        await addOrg();
      }
      const aOrgs = byA.flatMap((x, i) => (x ? [i] : []));
      expect(aOrgs.length).toBeGreaterThanOrEqual(2);
      expect(orgs.length - aOrgs.length).toBeGreaterThanOrEqual(2);

      // Steady changes on every org from here to the end.
      for (const org of orgs) await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/activity`, { perSecond: 3, objects: ['Lead'] });

      // Streaming clients per org, sampled every 50 ms.
      const samples: { t: number; n: number[] }[] = [];
      sampler = setInterval(() => samples.push({ t: Date.now(), n: orgs.map(clients) }), 50);
      // Three seconds of the steady state: exactly one client per org throughout (checked below).
      await sleep(3_000);

      // --- SIGSTOP: A frozen. B takes its orgs only once A's session expired. ---
      const stopAt = Date.now();
      a.child.kill('SIGSTOP');
      await waitUntil(() => orgs.every((_, i) => followedByB(i)), SESSION_MS + HANDOVER_MS + 20_000, 'B following every org while A is frozen');
      const takeoverMs = Date.now() - stopAt;
      expect(takeoverMs).toBeGreaterThanOrEqual(SESSION_MS);
      expect(B.service.ownership()!.owned).toHaveLength(32);
      // A's frozen clients are still registered at the emulator: each of its orgs has two once B's is there, one of them stale.
      await waitUntil(() => aOrgs.every((i) => clients(orgs[i]!) === 2), 5_000, "B's client beside A's stale one on each of A's orgs");
      const frozenMs = Date.now() - stopAt;

      // --- SIGCONT: A wakes. Its fence fires first: the stale clients go before Kafka tells it anything. ---
      const rebalancesBefore = B.service.ownership()!.rebalances;
      const linesBeforeCont = a.lines.length;
      const contAt = Date.now();
      a.child.kill('SIGCONT');
      await waitUntil(() => orgs.every((o) => clients(o) <= 1), 10_000, 'A dropping its stale clients');
      const staleGoneMs = Date.now() - contAt;
      // A comes back as a member: the group rebalances, A takes some orgs again (after the handover wait).
      await waitUntil(() => B.service.ownership()!.rebalances > rebalancesBefore, 20_000, 'A rejoining the group');
      await waitUntil(
        async () => {
          const o = B.service.ownership()!;
          if (o.owned.length === 0 || o.owned.length === 32 || o.handover.length > 0) return false;
          return (await split())?.some(Boolean) ?? false;
        },
        30_000,
        'A and B sharing the orgs again',
      );
      const resettledMs = Date.now() - contAt;
      const fenced = (l: { msg?: string }) => /has not confirmed this member in time/.test(l.msg ?? '');
      // Without a fence line the expectations below show A's log.
      const woken = a;
      await waitUntil(() => logOf({ ...woken, lines: woken.lines.slice(linesBeforeCont) }).some(fenced), 10_000, "A's fence in its log").catch(() => undefined);
      // A stopped by itself: its fence (silent for longer than the session) comes before anything Kafka told it
      // about its lost membership. Without the fence the stale clients would still go, but only once the
      // rejoin revoked A's partitions (about 1 s later here, too close to the fenced case to tell apart by time
      // at the emulator), so this order is what shows the fence.
      const log = logOf({ ...a, lines: a.lines.slice(linesBeforeCont) });
      const fenceAt = log.findIndex(fenced);
      const toldAt = log.findIndex((l) => /not aware of this member|UNKNOWN_MEMBER_ID|rebalanc/i.test(l.msg ?? ''));
      expect(fenceAt, `A's log since SIGCONT: ${a.lines.slice(linesBeforeCont, linesBeforeCont + 20).join('\n')}`).toBeGreaterThanOrEqual(0);
      expect(log[fenceAt]!.silentMs).toBeGreaterThanOrEqual(SESSION_MS);
      if (toldAt >= 0) expect(fenceAt).toBeLessThan(toldAt);
      const toldMs = toldAt >= 0 && log[toldAt]!.time ? Date.parse(log[toldAt]!.time!) - contAt : null;

      // --- SIGKILL: A crashes while the changes go on. B follows everything after the session timeout. ---
      const killAt = Date.now();
      await a.kill('SIGKILL');
      const overlapUntil = Date.now();
      await waitUntil(() => orgs.every((_, i) => followedByB(i)), SESSION_MS + HANDOVER_MS + 20_000, 'B following every org after A was killed');
      const crashTakeoverMs = Date.now() - killAt;
      expect(B.service.ownership()!.owned).toHaveLength(32);
      clearInterval(sampler);

      // At most one live client per org from STALE_GRACE_MS after SIGCONT until the kill (after it, A's dead
      // clients stay registered at the emulator until its client timeout).
      const lastOverlap = samples.filter((s) => s.t >= contAt && s.t < overlapUntil && s.n.some((n) => n > 1)).at(-1);
      const overlaps = samples.filter((s) => s.t >= contAt + STALE_GRACE_MS && s.t < overlapUntil && s.n.some((n) => n > 1));
      expect(overlaps.map((s) => `${s.t - contAt} ms after SIGCONT: ${s.n.join(',')}`)).toEqual([]);
      // Before the freeze too.
      expect(samples.filter((s) => s.t < stopAt && s.n.some((n) => n !== 1)).map((s) => s.n.join(','))).toEqual([]);

      // --- Nothing committed in Salesforce meanwhile is lost. ---
      // Stopping the activity is immediate: what the emulator committed is final from here.
      for (const org of orgs) await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/activity`, { perSecond: 0 });
      const expected = new Map<string, string>();
      for (const org of orgs) for (const [k, v] of expectedLeadEvents(emulator, org)) expected.set(k, v);
      expect(expected.size).toBeGreaterThan(300);
      await reader.waitFor(
        (evs) => {
          const got = new Set(evs.map((e) => e.id));
          return [...expected.keys()].every((id) => got.has(id));
        },
        45_000,
        'every committed Lead change on Kafka',
      );
      const received = reader.events;
      expect(received.filter((e) => !expected.has(e.id)).map((e) => `${e.id} ${e.type} ${e.subject}`)).toEqual([]);
      const byId = new Map<string, string>();
      let duplicates = 0;
      for (const e of received) {
        const body = JSON.stringify({ type: e.type, subject: e.subject, data: e.data });
        if (byId.has(e.id)) {
          duplicates++;
          expect(body).toBe(byId.get(e.id));
        } else byId.set(e.id, body);
      }
      console.log(
        JSON.stringify({
          fencing: {
            orgs: orgs.length,
            aOrgs: aOrgs.length,
            takeoverMs,
            frozenMs,
            staleGoneMs,
            lastOverlapAfterContMs: lastOverlap ? lastOverlap.t - contAt : null,
            kafkaToldAMs: toldMs,
            resettledMs,
            crashTakeoverMs,
            changes: expected.size,
            received: received.length,
            duplicates,
            fenceSilentMs: log[fenceAt]!.silentMs,
            totalMs: Date.now() - t0,
          },
        }),
      );
    } finally {
      clearInterval(sampler);
      for (const org of orgs) await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/activity`, { perSecond: 0 }).catch(() => undefined);
      if (a) {
        a.child.kill('SIGCONT');
        await a.kill('SIGKILL');
      }
      await b?.stop();
      await reader.stop();
    }
  }, 150_000);
});
