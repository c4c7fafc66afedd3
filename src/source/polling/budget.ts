/**
 * How long a poller waits before its next cycle. Users of peers complain most about polling that burns
 * the org's API quota, so the org's own numbers (Sforce-Limit-Info `api-usage=used/limit`, a rolling
 * 24 h window) set the pace, not only our configured interval:
 *
 *   budgetDelay = 86_400_000 × callsPerCycle / (budgetShare × limit × pressure)
 *   delay       = min(maxIntervalMs, max(minIntervalMs, budgetDelay, failureDelay))
 *
 * - callsPerCycle: a moving average of the calls recent cycles cost (1 for a quiet org thanks to the
 *   composite request; more while paging through bursts), so a busy object slows its own polling
 *   instead of eating the org's budget.
 * - pressure: 1 while the org as a whole has used ≤ 80 % of its limit; above that our share shrinks
 *   linearly towards 5 % of itself at 100 % (other integrations of the org need what is left).
 * - failureDelay: REQUEST_LIMIT_EXCEEDED backs off exponentially from 1 min to maxIntervalMs (the
 *   rolling window frees calls only slowly); other failures back off from minIntervalMs to 5 min.
 * Unknown usage (no call made yet) means minIntervalMs. A ±10 % jitter keeps thousands of orgs'
 * pollers on one instance from firing in lockstep.
 */
import { retryPolicy, baseDelay, type RetryPolicy } from '../../core/retry.js';

export const DAY_MS = 86_400_000;
export const HIGH_USAGE = 0.8;

export interface BudgetInput {
  minIntervalMs: number;
  maxIntervalMs: number;
  budgetShare: number;
  callsPerCycle: number;
  usage: { used: number; limit: number } | undefined;
  consecutiveFailures: number;
  consecutiveLimitErrors: number;
}

export function pressure(usage: { used: number; limit: number } | undefined): number {
  if (!usage || usage.limit <= 0) return 1;
  const u = usage.used / usage.limit;
  if (u <= HIGH_USAGE) return 1;
  return Math.max(0.05, (1 - u) / (1 - HIGH_USAGE));
}

export function budgetDelayMs(input: Pick<BudgetInput, 'budgetShare' | 'callsPerCycle' | 'usage'>): number {
  const { usage } = input;
  if (!usage || usage.limit <= 0 || input.budgetShare <= 0) return 0;
  const calls = Math.max(1, input.callsPerCycle);
  return Math.ceil((DAY_MS * calls) / (input.budgetShare * usage.limit * pressure(usage)));
}

const LIMIT_BACKOFF_BASE_MS = 60_000;
const FAILURE_BACKOFF_MAX_MS = 5 * 60_000;

function failurePolicy(minIntervalMs: number): RetryPolicy {
  const initial = Math.max(1, Math.round(minIntervalMs));
  return retryPolicy({ initialDelayMs: initial, multiplier: 2, maxDelayMs: Math.max(initial, FAILURE_BACKOFF_MAX_MS), jitter: 0 });
}

export function failureDelayMs(input: Pick<BudgetInput, 'minIntervalMs' | 'maxIntervalMs' | 'consecutiveFailures' | 'consecutiveLimitErrors'>): number {
  let delay = 0;
  if (input.consecutiveLimitErrors > 0) {
    const exp = Math.min(30, input.consecutiveLimitErrors - 1);
    delay = Math.min(Math.max(input.maxIntervalMs, LIMIT_BACKOFF_BASE_MS), LIMIT_BACKOFF_BASE_MS * 2 ** exp);
  }
  if (input.consecutiveFailures > 0) {
    delay = Math.max(delay, baseDelay(failurePolicy(input.minIntervalMs), input.consecutiveFailures));
  }
  return delay;
}

/** The delay before the next cycle, without jitter. */
export function nextDelayMs(input: BudgetInput): number {
  const wanted = Math.max(input.minIntervalMs, budgetDelayMs(input), failureDelayMs(input));
  return Math.max(input.minIntervalMs, Math.min(Math.max(input.maxIntervalMs, input.minIntervalMs), wanted));
}

export function withJitter(delayMs: number, random: () => number = Math.random): number {
  return Math.max(0, Math.round(delayMs * (0.9 + 0.2 * random())));
}

/** Exponential moving average of calls per cycle; a burst of paging decays over ~5 cycles. */
export function averageCalls(previous: number | undefined, calls: number): number {
  return previous === undefined ? calls : previous * 0.8 + calls * 0.2;
}
