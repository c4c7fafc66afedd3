/**
 * What happens after an attempt: a pure function of the record, the outcome
 * and the retry schedule, so the whole policy is testable without Kafka.
 *
 * The schedule (FORCEHOOK_RETRY_SCHEDULE) is data: delays after the 1st, 2nd,
 * … failed attempt; attempts = schedule length + 1; after the last failure the
 * record is dead-lettered. Delays go through the one retry primitive
 * (src/core/retry.ts: jitter, Retry-After taking over when larger).
 *
 * Retry tiers: one topic per distinct delay. A record goes to the tier with
 * the largest delay ≤ its wanted delay (the smallest tier if none is). Within a
 * tier records were produced in time order with (about) the same delay, so
 * their due times are (about) in offset order and the consumer of a tier
 * rarely holds a due record behind one that is not due yet.
 *
 * Held records. While a subscription's circuit breaker is open no attempt is
 * made, and a record that was due is *held* (`planHold`): it goes to the first
 * tier, marked `held`, due when the breaker next lets a probe through, with its
 * attempt count unchanged. Attempts therefore count only requests actually made.
 * A held record waits for the breaker, not for its schedule, so it is released
 * as soon as a probe succeeds. Held for longer than its whole schedule (plus one
 * longest breaker cooldown and the schedule's jitter), the endpoint has been
 * failing for all of it: the record is dead-lettered, as it would have been had
 * every attempt been made and failed.
 */
import { TransientError } from '../../core/errors.js';
import { delayFor, retryPolicy, type RetryPolicy } from '../../core/retry.js';
import type { DeliveryRecord } from '../record.js';
import type { AttemptOutcome } from '../types.js';

export interface Schedule {
  policy: RetryPolicy;
  /** Distinct delays, ascending: one retry topic each. */
  tiers: number[];
  /** Upper bound for a receiver's Retry-After. */
  maxRetryAfterMs: number;
  /** The sum of the delays: how long a record that fails every attempt takes to be dead-lettered. */
  totalMs: number;
}

export function makeSchedule(delaysMs: readonly number[], opts: { jitter?: number; maxRetryAfterMs?: number } = {}): Schedule {
  const policy = retryPolicy({ schedule: [...delaysMs], jitter: opts.jitter ?? 0.1 });
  const tiers = [...new Set(delaysMs)].sort((a, b) => a - b);
  const totalMs = delaysMs.reduce((a, b) => a + b, 0);
  return { policy, tiers, maxRetryAfterMs: opts.maxRetryAfterMs ?? Math.max(...delaysMs, 0), totalMs };
}

export function tierFor(schedule: Schedule, delayMs: number): number {
  let chosen = schedule.tiers[0]!;
  for (const t of schedule.tiers) if (t <= delayMs) chosen = t;
  return chosen;
}

export type Next =
  | { action: 'done' }
  | { action: 'retry'; tier: number; record: DeliveryRecord }
  | { action: 'dlq'; reason: 'exhausted' | 'dead' | 'disabled'; record: DeliveryRecord; disable: boolean };

export function planNext(record: DeliveryRecord, outcome: AttemptOutcome, schedule: Schedule, now: number, random?: () => number): Next {
  if (outcome.result === 'delivered') return { action: 'done' };
  const attempts = record.attempts + 1;
  const failed: DeliveryRecord = {
    ...record,
    attempts,
    firstAttemptAt: record.firstAttemptAt ?? now,
    lastError: outcome.error,
    ...(outcome.status !== undefined ? { lastStatus: outcome.status } : {}),
  };
  delete failed.dueAt;
  delete failed.held;
  if (outcome.result === 'dead') return { action: 'dlq', reason: 'dead', record: failed, disable: false };
  if (outcome.result === 'disable') return { action: 'dlq', reason: 'disabled', record: failed, disable: true };
  if (attempts >= schedule.policy.maxAttempts) return { action: 'dlq', reason: 'exhausted', record: failed, disable: false };
  const asked = outcome.retryAfterMs === undefined ? undefined : Math.min(outcome.retryAfterMs, schedule.maxRetryAfterMs);
  const hint = asked === undefined ? undefined : new TransientError('DELIVERY', outcome.error, { retryAfterMs: asked });
  const delay = delayFor(schedule.policy, attempts, hint, random);
  return { action: 'retry', tier: tierFor(schedule, delay), record: { ...failed, dueAt: now + delay } };
}

/** A record that must wait without it counting as an attempt (lane overflow). */
export function defer(record: DeliveryRecord, schedule: Schedule, now: number): { tier: number; record: DeliveryRecord } {
  const delay = schedule.tiers[0]!;
  return { tier: delay, record: { ...record, dueAt: now + delay } };
}

export type Hold = { action: 'hold'; tier: number; record: DeliveryRecord } | { action: 'dlq'; reason: 'exhausted'; record: DeliveryRecord; disable: false };

/**
 * A record that was due while its subscription's breaker refused attempts.
 * `until` is when the breaker will next admit one (its cooldown's end, or the
 * running probe's time bound); `graceMs` is the breaker's longest cooldown: the
 * longest it may legitimately hold a record beyond the record's own schedule.
 */
export function planHold(record: DeliveryRecord, schedule: Schedule, now: number, opts: { until: number; graceMs: number }): Hold {
  const heldSince = record.heldSince ?? now;
  const started = Math.min(record.firstAttemptAt ?? heldSince, heldSince);
  const deadline = started + schedule.totalMs * (1 + schedule.policy.jitter) + opts.graceMs;
  if (now >= deadline) {
    const failed: DeliveryRecord = { ...record, heldSince, lastError: record.lastError ?? 'circuit open for the whole retry schedule' };
    delete failed.dueAt;
    delete failed.held;
    return { action: 'dlq', reason: 'exhausted', record: failed, disable: false };
  }
  return { action: 'hold', tier: schedule.tiers[0]!, record: { ...record, held: true, heldSince, dueAt: Math.max(now, opts.until) } };
}
