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
}

export function makeSchedule(delaysMs: readonly number[], opts: { jitter?: number; maxRetryAfterMs?: number } = {}): Schedule {
  const policy = retryPolicy({ schedule: [...delaysMs], jitter: opts.jitter ?? 0.1 });
  const tiers = [...new Set(delaysMs)].sort((a, b) => a - b);
  return { policy, tiers, maxRetryAfterMs: opts.maxRetryAfterMs ?? Math.max(...delaysMs, 0) };
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
