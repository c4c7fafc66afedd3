/**
 * Ownership without a broker: the hash must be Kafka's, the assignment must move few partitions when a
 * member joins or leaves, and an owner must stop before its session can expire (fake timers: time is the subject).
 */
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testLogger } from '../core/log.js';
import type { ConsumerOptions, KafkaClient, TopicPartition } from '../kafka/types.js';
import { murmur2, OrgOwnership, partitionOf, rendezvousAssign, type OwnershipChange } from './ownership.js';

describe('murmur2', () => {
  // Kafka's own test vectors (UtilsTest.testMurmur2), made positive as its partitioner does (toPositive).
  const KAFKA: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  it.each(KAFKA)('hashes %j as Kafka does', (key, java) => {
    expect(murmur2(key)).toBe(java & 0x7fffffff);
  });

  it('agrees with the kafkajs default partitioner on connection ids', () => {
    const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string) => number;
    for (let i = 0; i < 200; i++) {
      const id = `conn_${i.toString(36)}_${'x'.repeat(i % 7)}`;
      expect(murmur2(id)).toBe(kafkajsMurmur2(id) & 0x7fffffff);
      expect(partitionOf(id, 12)).toBe((kafkajsMurmur2(id) & 0x7fffffff) % 12);
    }
  });
});

describe('rendezvousAssign', () => {
  const TOPIC = 'p.assignments';
  const parts = (n: number): TopicPartition[] => Array.from({ length: n }, (_, partition) => ({ topic: TOPIC, partition }));
  const owners = (a: Map<string, TopicPartition[]>) => {
    const out = new Map<number, string>();
    for (const [m, tps] of a) for (const tp of tps) out.set(tp.partition, m);
    return out;
  };
  const moved = (before: Map<number, string>, after: Map<number, string>) => [...before].filter(([p, m]) => after.get(p) !== m).length;

  it('assigns every partition once, balanced to ceil(P/M), whatever the order of the member ids', () => {
    const a = rendezvousAssign(['c', 'a', 'b'], parts(32));
    expect([...owners(a).keys()].sort((x, y) => x - y)).toEqual(parts(32).map((tp) => tp.partition));
    for (const tps of a.values()) expect(tps.length).toBeLessThanOrEqual(Math.ceil(32 / 3));
    expect(owners(rendezvousAssign(['b', 'c', 'a', 'a'], parts(32)))).toEqual(owners(a));
  });

  /** What round robin over sorted member ids (the obvious alternative) would move. */
  const roundRobin = (members: string[], n: number) => new Map(parts(n).map((tp) => [tp.partition, [...members].sort()[tp.partition % members.length]!]));

  it('a join gives the newcomer its fair share and moves few others (the cap displaces a handful)', () => {
    for (const members of [
      ['m1', 'm2', 'm3', 'm4'],
      ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8'],
    ]) {
      const fair = 64 / (members.length + 1);
      const before = owners(rendezvousAssign(members, parts(64)));
      const after = owners(rendezvousAssign([...members, 'new'], parts(64)));
      const toNewcomer = [...after.values()].filter((m) => m === 'new').length;
      expect(toNewcomer).toBeGreaterThanOrEqual(Math.floor(fair));
      expect(moved(before, after)).toBeLessThanOrEqual(2 * Math.ceil(fair));
      expect(moved(before, after)).toBeLessThan(moved(roundRobin(members, 64), roundRobin([...members, 'new'], 64)) / 2);
    }
  });

  it("a leave moves the leaver's partitions and few others", () => {
    const members = ['m1', 'm2', 'm3', 'm4', 'm5'];
    const before = owners(rendezvousAssign(members, parts(64)));
    const stay = members.filter((m) => m !== 'm3');
    const after = owners(rendezvousAssign(stay, parts(64)));
    const leavers = [...before].filter(([, m]) => m === 'm3').length;
    expect(moved(before, after)).toBeLessThanOrEqual(2 * leavers);
    expect(moved(before, after)).toBeLessThan(moved(roundRobin(members, 64), roundRobin(stay, 64)) / 2);
  });

  it('gives nothing to nobody', () => {
    expect(rendezvousAssign([], parts(4)).size).toBe(0);
  });
});

describe('OrgOwnership timing', () => {
  /** A group consumer whose coordinator is the test: it calls the callbacks the service registered. */
  function fakeClient() {
    let opts: ConsumerOptions | undefined;
    const client = {
      consumer: (_group: string, o: ConsumerOptions) => {
        opts = o;
        return {
          subscribe: async () => undefined,
          run: async () => undefined,
          commit: async () => undefined,
          pause: () => undefined,
          resume: () => undefined,
          stop: async () => undefined,
        };
      },
    } as unknown as KafkaClient;
    return { client, group: () => opts! };
  }

  let now = 0;
  const changes: OwnershipChange[] = [];
  let own: OrgOwnership;
  let group: () => ConsumerOptions;
  beforeEach(async () => {
    vi.useFakeTimers();
    now = 1_000_000;
    vi.setSystemTime(now);
    changes.length = 0;
    const fake = fakeClient();
    group = fake.group;
    own = new OrgOwnership({
      client: fake.client,
      topic: 'p.assignments',
      groupId: 'p.owners',
      logger: testLogger(),
      partitions: 4,
      handoverMs: 3_000,
      sessionTimeoutMs: 10_000,
      fenceAfterMs: 8_000,
      now: () => Date.now(),
      onChange: async (c) => void changes.push(c),
    });
    await own.start();
  });
  afterEach(async () => {
    await own.stop();
    vi.useRealTimers();
  });
  const tps = (...ps: number[]) => ps.map((partition) => ({ topic: 'p.assignments', partition }));

  it('a gained partition is followed only after the handover wait, so the previous owner has stopped first', async () => {
    group().onMembershipConfirmed!(Date.now());
    await group().onAssigned!(tps(0, 2));
    expect(own.status()).toMatchObject({ owned: [], handover: [0, 2] });
    await vi.advanceTimersByTimeAsync(2_999);
    expect(changes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await own.idle();
    expect(changes.flatMap((c) => c.gained).sort()).toEqual([0, 2]);
    expect(changes.flatMap((c) => c.lost)).toEqual([]);
    expect(own.status().owned).toEqual([0, 2]);
  });

  it('a partition revoked during the wait is never started; one revoked after is stopped at once', async () => {
    group().onMembershipConfirmed!(Date.now());
    await group().onAssigned!(tps(0, 1));
    await group().onRevoked!(tps(1));
    await vi.advanceTimersByTimeAsync(3_000);
    await own.idle();
    expect(changes).toEqual([{ gained: [0], lost: [] }]);
    await group().onRevoked!(tps(0));
    expect(changes[1]).toEqual({ gained: [], lost: [0] });
    expect(own.status().owned).toEqual([]);
  });

  it('an owner the coordinator stops confirming fences itself before the session expires, and waits again once confirmed', async () => {
    group().onMembershipConfirmed!(Date.now());
    await group().onAssigned!(tps(3));
    await vi.advanceTimersByTimeAsync(3_000);
    await own.idle();
    expect(own.status().owned).toEqual([3]);
    // Heartbeats keep it owned.
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(2_000);
      group().onMembershipConfirmed!(Date.now());
    }
    expect(own.status().fenced).toEqual([]);
    // Then silence: fenced after fenceAfterMs (8 s), before the 10 s session timeout hands it to another member.
    const silentFrom = Date.now();
    await vi.advanceTimersByTimeAsync(7_000);
    expect(own.status().fenced).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    await own.idle();
    expect(own.status()).toMatchObject({ owned: [], fenced: [3], fences: 1 });
    expect(changes.at(-1)).toEqual({ gained: [], lost: [3] });
    expect(Date.now() - silentFrom).toBeLessThan(10_000);
    expect(own.owns('any')).toBe(false);
    // Confirmed again: still ours, but the coordinator may have moved it meanwhile, so the wait starts over.
    group().onMembershipConfirmed!(Date.now());
    expect(own.status().handover).toEqual([3]);
    await vi.advanceTimersByTimeAsync(3_000);
    await own.idle();
    expect(changes.at(-1)).toEqual({ gained: [3], lost: [] });
  });
});
