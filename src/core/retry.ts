import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ForcehookError, TransientError, isRetriable, toError } from './errors.js';

/**
 * The retry policy is data: validated when built, printable, testable.
 *
 * Delay before attempt n (n >= 1, the first retry) is
 *   min(maxDelayMs, initialDelayMs * multiplier^(n-1)) * (1 ± jitter)
 * unless `schedule` is given, in which case the delays are exactly the schedule
 * (with jitter), and `maxAttempts` is schedule.length + 1.
 * A TransientError carrying `retryAfterMs` overrides the computed delay when larger.
 */
export const RetryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).default(5).describe('total attempts including the first'),
    initialDelayMs: z.number().int().min(0).default(200),
    multiplier: z.number().min(1).default(2),
    maxDelayMs: z.number().int().min(0).default(30_000),
    jitter: z.number().min(0).max(1).default(0.2),
    schedule: z.array(z.number().int().min(0)).optional().describe('explicit delays after each failed attempt'),
  })
  .strict();

export type RetryPolicy = Readonly<z.output<typeof RetryPolicySchema>>;

export function retryPolicy(input: z.input<typeof RetryPolicySchema> = {}): RetryPolicy {
  const parsed = RetryPolicySchema.parse(input);
  if (parsed.schedule) parsed.maxAttempts = parsed.schedule.length + 1;
  return Object.freeze(parsed);
}

/** Delay after the `attempt`-th failure (1-based), before jitter is applied by `jittered`. */
export function baseDelay(policy: RetryPolicy, attempt: number): number {
  if (policy.schedule) {
    return policy.schedule[Math.min(attempt, policy.schedule.length) - 1] ?? 0;
  }
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
}

export function jittered(policy: RetryPolicy, delay: number, random: () => number = Math.random): number {
  if (policy.jitter === 0 || delay === 0) return delay;
  const spread = delay * policy.jitter;
  return Math.max(0, Math.round(delay - spread + random() * 2 * spread));
}

export function delayFor(policy: RetryPolicy, attempt: number, err?: unknown, random?: () => number): number {
  const computed = jittered(policy, baseDelay(policy, attempt), random);
  const asked = err instanceof TransientError ? err.retryAfterMs : undefined;
  return asked !== undefined && asked > computed ? asked : computed;
}

export interface RetryContext {
  attempt: number;
  /** Stop retrying: the error is thrown as-is. */
  bail(err: unknown): never;
  signal: AbortSignal | undefined;
}

class Bail {
  constructor(readonly err: unknown) {}
}

export interface RetryOptions {
  signal?: AbortSignal;
  onRetry?: (err: Error, attempt: number, delayMs: number) => void;
  /** Which failures are tried again. @default isRetriable */
  retryIf?: (err: unknown) => boolean;
  /**
   * Ignore the policy's `maxAttempts`: try until success, a failure `retryIf` refuses, or the
   * signal. For work that must not be dropped (a batch not yet handed off), where the policy
   * only paces the attempts. A predicate lifts the cap only for the failures it accepts (those known to
   * pass, such as a broker being down); every other failure is tried `maxAttempts` times, so an error
   * nobody classified cannot keep a loop busy for ever.
   */
  forever?: boolean | ((err: unknown) => boolean);
  /**
   * How to wait `delayMs` before the next attempt. @default a sleep the signal ends. A wait that
   * must keep something alive meanwhile (a consumer's group membership) brings its own; what it
   * throws ends the retries.
   */
  wait?: (delayMs: number) => Promise<void>;
}

/** Runs `fn` until it succeeds, a non-retriable error occurs, or the policy's attempts run out. */
export async function retry<T>(policy: RetryPolicy, fn: (ctx: RetryContext) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn({
        attempt,
        signal: opts.signal,
        bail(err) {
          throw new Bail(err);
        },
      });
    } catch (err) {
      if (err instanceof Bail) throw err.err;
      const uncapped = typeof opts.forever === 'function' ? opts.forever(err) : opts.forever === true;
      if (!(opts.retryIf ?? isRetriable)(err) || (!uncapped && attempt >= policy.maxAttempts)) throw err;
      const delay = delayFor(policy, attempt, err);
      opts.onRetry?.(toError(err), attempt, delay);
      await (opts.wait ? opts.wait(delay) : sleep(delay, undefined, { signal: opts.signal }));
    }
  }
}

export function abortedError(): ForcehookError {
  return new ForcehookError('ABORTED', 'operation aborted');
}
