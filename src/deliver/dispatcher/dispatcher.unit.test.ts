import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.js';
import { Lane, STALL_GRACE_MS } from './lane.js';
import { OffsetTracker } from './offsets.js';
import { makeSchedule, planNext, tierFor } from './plan.js';
import type { DeliveryRecord } from '../record.js';

const rec = (attempts = 0): DeliveryRecord => ({
  v: 1,
  subscriptionId: 's',
  recordKey: 'o:r',
  event: { specversion: '1.0', id: 'e', source: '/x', type: 't', data: {} },
  attempts,
  origin: 'match',
});

describe('plan: what follows an attempt', () => {
  const schedule = makeSchedule([5_000, 300_000, 1_800_000], { jitter: 0 });

  it('retries on the schedule, then dead-letters once it is exhausted', () => {
    const r1 = planNext(rec(0), { result: 'retry', error: 'HTTP 500' }, schedule, 1_000);
    expect(r1).toMatchObject({ action: 'retry', tier: 5_000, record: { attempts: 1, dueAt: 6_000, lastError: 'HTTP 500', firstAttemptAt: 1_000 } });
    const r3 = planNext(rec(2), { result: 'retry', error: 'x' }, schedule, 0);
    expect(r3).toMatchObject({ action: 'retry', tier: 1_800_000, record: { attempts: 3, dueAt: 1_800_000 } });
    expect(planNext(rec(3), { result: 'retry', error: 'x' }, schedule, 0)).toMatchObject({ action: 'dlq', reason: 'exhausted', record: { attempts: 4 } });
  });

  it('Retry-After wins when longer, capped by the longest delay; the tier is the largest not above it', () => {
    const r = planNext(rec(0), { result: 'retry', error: '429', retryAfterMs: 600_000 }, schedule, 0);
    expect(r).toMatchObject({ action: 'retry', tier: 300_000, record: { dueAt: 600_000 } });
    const capped = planNext(rec(0), { result: 'retry', error: '429', retryAfterMs: 10 * 86_400_000 }, schedule, 0);
    expect(capped).toMatchObject({ record: { dueAt: 1_800_000 } });
    expect(tierFor(schedule, 1)).toBe(5_000);
  });

  it('dead and disable go straight to the DLQ; delivered is done', () => {
    expect(planNext(rec(0), { result: 'dead', error: 'egress' }, schedule, 0)).toMatchObject({ action: 'dlq', reason: 'dead', disable: false });
    expect(planNext(rec(0), { result: 'disable', error: 'HTTP 410', status: 410 }, schedule, 0)).toMatchObject({
      action: 'dlq',
      reason: 'disabled',
      disable: true,
    });
    expect(planNext(rec(0), { result: 'delivered' }, schedule, 0)).toEqual({ action: 'done' });
  });
});

describe('circuit breaker state table', () => {
  it('closed → open after N failures → half_open probe after the cooldown → closed on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1_000, maxCooldownMs: 4_000 }, { now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(b.admit()).toBe('attempt');
      b.failure();
    }
    expect(b.state).toBe('open');
    expect(b.admit()).toBe('reject');
    now = 1_000;
    expect(b.admit()).toBe('probe');
    expect(b.admit()).toBe('reject'); // one probe at a time
    b.failure(); // probe failed: cooldown doubles
    expect(b.state).toBe('open');
    now = 2_999;
    expect(b.admit()).toBe('reject');
    now = 3_000;
    expect(b.admit()).toBe('probe');
    b.success();
    expect(b.state).toBe('closed');
    expect(b.admit()).toBe('attempt');
  });
});

describe('offset tracker: out-of-order completion, in-order commits', () => {
  const tp = { topic: 't', partition: 0 };
  it('commits the end of the durable prefix only', () => {
    const t = new OffsetTracker();
    const a = t.take(tp, '10')!;
    const b = t.take(tp, '11')!;
    const c = t.take(tp, '12')!;
    expect(t.take(tp, '11')).toBeUndefined(); // re-fetch after a rejoin
    t.done(c);
    expect(t.committable()).toEqual([]);
    t.done(a);
    expect(t.committable()).toEqual([{ ...tp, offset: '11' }]);
    t.done(b);
    expect(t.committable()).toEqual([{ ...tp, offset: '13' }]);
    t.acknowledge([{ ...tp, offset: '13' }]);
    expect(t.committable()).toEqual([]);
  });
  it('thousands open, completed in any order (gaps in the offsets too): the position is always the end of the done prefix', () => {
    const t = new OffsetTracker();
    const offsets = Array.from({ length: 3_000 }, (_, i) => 100 + i * 2); // compacted topics leave gaps
    const taken = offsets.map((o) => t.take(tp, String(o))!);
    let seed = 7;
    const shuffled = [...taken.keys()].sort(() => (seed = (seed * 48271) % 2147483647) / 2147483647 - 0.5);
    const done = new Set<number>();
    for (const i of shuffled) {
      expect(t.done(taken[i]!)).toBe(true);
      done.add(i);
      let prefix = 0;
      while (done.has(prefix)) prefix++;
      const moved = t.committable();
      if (moved.length) {
        expect(moved).toEqual([{ ...tp, offset: String(offsets[prefix - 1]! + 1) }]);
        t.acknowledge(moved);
      }
    }
    expect(t.openCount(tp)).toBe(0);
    expect(t.done(taken[0]!)).toBe(false); // already gone
  });
  it('work of a revoked partition no longer moves its position', () => {
    const t = new OffsetTracker();
    const a = t.take(tp, '5')!;
    t.reset(tp);
    expect(t.done(a)).toBe(false);
    expect(t.committable()).toEqual([]);
    expect(t.take(tp, '5')).toBeDefined(); // the partition may be read again from its commit
  });
});

describe('lane: concurrency limit, per-record order', () => {
  it('never runs two items of one record at once, and respects the limit', async () => {
    const running = new Set<string>();
    const order: string[] = [];
    let max = 0;
    let inFlight = 0;
    const lane = new Lane<{ recordKey: string; n: number }>(2, async (it) => {
      expect(running.has(it.recordKey)).toBe(false);
      running.add(it.recordKey);
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      order.push(`${it.recordKey}${it.n}`);
      running.delete(it.recordKey);
      inFlight--;
    });
    for (let n = 0; n < 3; n++) for (const k of ['a', 'b', 'c']) lane.push({ recordKey: k, n });
    await new Promise((r) => setTimeout(r, 200));
    expect(max).toBe(2);
    for (const k of ['a', 'b', 'c']) expect(order.filter((x) => x.startsWith(k))).toEqual([`${k}0`, `${k}1`, `${k}2`]);
  });

  it('a long queue (past the compaction point) keeps per-record order, runs everything once, and drops what is asked', async () => {
    const order = new Map<string, number[]>();
    let ran = 0;
    const lane = new Lane<{ recordKey: string; n: number }>(8, async (it) => {
      await new Promise((r) => setImmediate(r));
      ran++;
      const seen = order.get(it.recordKey) ?? [];
      seen.push(it.n);
      order.set(it.recordKey, seen);
    });
    for (let n = 0; n < 5_000; n++) lane.push({ recordKey: `k${n % 11}`, n });
    lane.push({ recordKey: 'gone', n: -1 });
    expect(lane.drop((it) => it.recordKey === 'gone')).toBe(1);
    while (ran < 5_000) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toBe(5_000);
    expect(order.has('gone')).toBe(false);
    for (const [, ns] of order) expect(ns).toEqual([...ns].sort((a, b) => a - b));
  });

  it('expects a drained queue from its recent pace: a fast lane is not mistaken for a stuck one', async () => {
    let t = 1_000_000;
    const gates: (() => void)[] = [];
    const lane = new Lane<{ recordKey: string }>(
      10,
      () => new Promise<void>((r) => gates.push(r)),
      () => t,
    );
    for (let i = 0; i < 50; i++) lane.push({ recordKey: `r${i}` });
    expect(lane.expectedWaitMs()).toBe(0); // nothing completed yet, and not for long: not a stuck lane
    for (let i = 0; i < 10; i++) gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    t += 100;
    // 10 done in its first 100 ms: too early to call a pace (a backlog being routed in holds replies back).
    expect(lane.expectedWaitMs()).toBe(0);
    for (let i = 0; i < 10; i++) gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    t += 900; // a whole window: 20 done in 1 s
    expect(lane.queued).toBe(20);
    expect(lane.expectedWaitMs()).toBeCloseTo(1_000, 0);
  });

  it('takes a lane whose attempts hang for a stuck one once they have run a while without completing, while others complete', () => {
    let t = 1_000_000;
    const progress = { lastCompletionAt: 0 };
    const lane = new Lane<{ recordKey: string }>(
      10,
      () => new Promise<void>(() => undefined),
      () => t,
      progress,
    );
    for (let i = 0; i < 30; i++) lane.push({ recordKey: `r${i}` });
    expect(lane.expectedWaitMs()).toBe(0);
    t += STALL_GRACE_MS - 1;
    expect(lane.expectedWaitMs()).toBe(0); // a busy event loop can hold the first replies back this long
    t += 3_000 - STALL_GRACE_MS + 1;
    // Nothing completed anywhere meanwhile: the process is busy, the endpoint may be fine.
    expect(lane.expectedWaitMs()).toBe(0);
    progress.lastCompletionAt = t - 10; // another lane's attempt just completed
    expect(lane.expectedWaitMs()).toBe(6_000); // 3 s without a completion: the 20 queued need 2 more rounds of ≥ 3 s
    const idle = new Lane<{ recordKey: string }>(
      10,
      async () => undefined,
      () => t,
    );
    expect(idle.expectedWaitMs()).toBe(0);
  });
});
