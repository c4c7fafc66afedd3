/**
 * Scale-out on Kafka's group protocol: instances sharing one prefix split the
 * orgs between them (group `<prefix>.owners` over `<prefix>.assignments`), each
 * org followed by one instance at a time; an instance joining and one leaving
 * under load move orgs without losing a change (checked against the emulator's
 * own change log), with duplicates only under the same id, and with few API
 * calls (only moved orgs restart).
 */
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
  expectedLeadEvents,
} from '../../testkit/service.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

const activity = async (org: OrgCredentials): Promise<{ operations: number } | null> =>
  (await adminCall<{ activity: { operations: number } | null }>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).activity;
const apiCalls = async (org: OrgCredentials): Promise<number> =>
  (await adminCall<{ apiCalls: number }>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`)).apiCalls;

/** Every partition held by exactly one of these instances (each holding some), none waiting for a handover. */
function settled(instances: TestService[]): boolean {
  if (instances.some((i) => (i.service.ownership()?.owned.length ?? 0) === 0)) return false;
  const owned = instances.flatMap((i) => i.service.ownership()?.owned ?? []);
  const waiting = instances.some((i) => (i.service.ownership()?.handover.length ?? 1) > 0);
  return !waiting && owned.length === 32 && new Set(owned).size === 32;
}

const following = (i: TestService, id: string): boolean => i.service.sources.status(id)?.subscriber === 'running';

describe('scale-out', () => {
  it('two, then three, then two instances share ten orgs: one follower each, nothing lost, few API calls', async () => {
    const prefix = uniquePrefix('scaleout');
    const reader = await readEvents(prefix);
    const [a, b] = await Promise.all([startTestService({ prefix, instanceId: 'a' }), startTestService({ prefix, instanceId: 'b' })]);
    let c: TestService | undefined;
    let sampler: NodeJS.Timeout | undefined;
    const live = new Set<TestService>([a!, b!]);
    try {
      await waitUntil(() => settled([a!, b!]), 30_000, 'two instances holding all 32 partitions');
      const orgs = await Promise.all(Array.from({ length: 10 }, () => createOrg(emulator.url)));
      const ids: string[] = [];
      // State is shared through Kafka: everything is posted to one instance.
      for (const org of orgs) {
        const conn = await a!.api<{ id: string }>('POST', '/v1/connections', {
          loginUrl: org.loginUrl,
          clientId: org.clientId,
          clientSecret: org.clientSecret,
          refreshToken: org.refreshToken,
        });
        expect(conn.status).toBe(201);
        const sub = await a!.api('POST', '/v1/subscriptions', {
          connectionId: conn.body.id,
          trigger: 'record.created',
          object: 'Lead',
          destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
        });
        expect(sub.status).toBe(201);
        ids.push(conn.body.id);
      }
      const followers = (id: string) => [...live].filter((i) => following(i, id)).length;
      await waitUntil(() => ids.every((id) => followers(id) === 1), 30_000, 'every org followed');
      // Both instances share the orgs, and the API of each says who follows what.
      expect(ids.filter((id) => following(a!, id)).length).toBeGreaterThan(0);
      expect(ids.filter((id) => following(b!, id)).length).toBeGreaterThan(0);
      for (const id of ids) {
        const views = await Promise.all([a!, b!].map(async (i) => (await i.api<{ subscriber: string }>('GET', `/v1/connections/${id}`)).body.subscriber));
        expect(views.filter((v) => v === 'running')).toHaveLength(1);
      }

      // At most one follower at any sample; the longest stretch each org had none.
      let overlaps = 0;
      const gapStart = new Map<string, number>();
      const longestGap = new Map<string, number>();
      sampler = setInterval(() => {
        const now = Date.now();
        for (const id of ids) {
          const n = followers(id);
          if (n > 1) overlaps++;
          if (n === 0) gapStart.set(id, gapStart.get(id) ?? now);
          else if (gapStart.has(id)) {
            longestGap.set(id, Math.max(longestGap.get(id) ?? 0, now - gapStart.get(id)!));
            gapStart.delete(id);
          }
        }
      }, 50);

      for (const org of orgs) await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/activity`, { perSecond: 4, objects: ['Lead'], seconds: 30 });
      // The join and the leave happen while changes are under way on every org.
      await waitUntil(async () => (await Promise.all(orgs.map(activity))).every((a) => (a?.operations ?? 0) >= 8), 20_000, 'activity under way on every org');
      const callsBefore = await Promise.all(orgs.map(apiCalls));

      const joinAt = Date.now();
      c = await startTestService({ prefix, instanceId: 'c' });
      live.add(c);
      await waitUntil(() => settled([a!, b!, c!]), 30_000, 'three instances settled');
      const joinSettledMs = Date.now() - joinAt;
      await waitUntil(() => ids.every((id) => followers(id) === 1), 20_000, 'every org followed after the join');
      const movedOnJoin = ids.filter((id) => following(c!, id)).length;

      const leaveAt = Date.now();
      const movedOnLeave = ids.filter((id) => following(b!, id)).length;
      await b!.stop();
      live.delete(b!);
      await waitUntil(() => settled([a!, c!]), 30_000, 'two instances settled after the leave');
      const leaveSettledMs = Date.now() - leaveAt;
      await waitUntil(() => ids.every((id) => followers(id) === 1), 20_000, 'every org followed after the leave');
      const callsAfter = await Promise.all(orgs.map(apiCalls));
      const rebalanceCalls = callsAfter.map((n, i) => n - callsBefore[i]!);

      // Let the activity run out, then everything the emulator committed must be on Kafka.
      await waitUntil(async () => (await Promise.all(orgs.map(activity))).every((a) => a === null), 45_000, 'the activity to end on every org');
      clearInterval(sampler);
      const expected = new Map<string, string>();
      for (const org of orgs) for (const [k, v] of expectedLeadEvents(emulator, org)) expected.set(k, v);
      expect(expected.size).toBeGreaterThan(500);
      await reader.waitFor(
        (evs) => {
          const got = new Set(evs.map((e) => e.id));
          return [...expected.keys()].every((id) => got.has(id));
        },
        45_000,
        'every committed Lead change on Kafka',
      );
      const received = reader.events;
      expect(received.filter((e) => !expected.has(e.id)).map((e) => e.id)).toEqual([]);
      const byId = new Map<string, string>();
      let duplicates = 0;
      for (const e of received) {
        const body = JSON.stringify({ type: e.type, subject: e.subject, data: e.data });
        if (byId.has(e.id)) {
          duplicates++;
          expect(body).toBe(byId.get(e.id));
        } else byId.set(e.id, body);
      }
      const gaps = ids.map((id) => longestGap.get(id) ?? 0);
      console.log(
        JSON.stringify({
          scaleout: {
            changes: expected.size,
            received: received.length,
            duplicates,
            movedOnJoin,
            movedOnLeave,
            joinSettledMs,
            leaveSettledMs,
            longestUnfollowedMs: Math.max(...gaps),
            unfollowedMsPerOrg: gaps,
            overlapSamples: overlaps,
            apiCallsPerOrgDuringRebalance: rebalanceCalls,
          },
        }),
      );
      expect(overlaps).toBe(0);
      // A moved org restarts once (CDC selection, describe): a handful of calls, not a burst.
      for (const n of rebalanceCalls) expect(n).toBeLessThanOrEqual(10);
      for (const id of ids) expect(followers(id)).toBe(1);
    } finally {
      clearInterval(sampler);
      await Promise.all([...live].map((i) => i.stop()));
      await reader.stop();
    }
  }, 150_000);
});
