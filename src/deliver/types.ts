/**
 * The delivery engine's vocabulary, and the ONE interface a destination type
 * implements: `Executor`. The engine (fan-out → dispatcher → retry topics → DLQ)
 * owns ordering, concurrency, circuit breaking, retries, dead-lettering and
 * offset commits; an executor owns exactly one attempt to hand one event to one
 * destination, and says how it went. Webhooks (`src/deliver/webhook/`) and
 * workflows (`src/deliver/workflows/`) are executors; a new destination type is
 * a new executor registered in `startService`, nothing else changes.
 *
 * Stability: this file is a contract between modules. Add optional fields;
 * do not rename, remove or change the meaning of existing ones.
 */
import { z } from 'zod';
import type { Destination, SubscriptionRecord } from '../state/records.js';

export type DestinationType = Destination['type'];

/**
 * The structured CloudEvent JSON (CloudEvents 1.0, JSON format) exactly as a
 * destination receives it: the attributes of `<prefix>.events` (`ce_*` headers)
 * plus `data`. Extensions (e.g. `partitionkey`) are kept.
 */
export const StructuredEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    subject: z.string().optional(),
    time: z.string().optional(),
    datacontenttype: z.string().optional(),
    data: z.unknown(),
  })
  .catchall(z.unknown());
export type StructuredEvent = z.infer<typeof StructuredEventSchema>;

/** One attempt the engine asks an executor to make. */
export interface DeliveryAttempt<T extends DestinationType = DestinationType> {
  /** `<subscriptionId>:<eventId>`: stable across attempts, retries and redeliveries. */
  deliveryId: string;
  /** The subscription as currently stored; `destination.type === T`. */
  subscription: SubscriptionRecord & { destination: Extract<Destination, { type: T }> };
  event: StructuredEvent;
  /** 1 for the first attempt, then 2, 3, … (across retry topics and restarts). */
  attempt: number;
  /**
   * Aborted when the attempt's total time budget runs out or the engine stops.
   * An executor must give up promptly when it fires; the engine then records a
   * retriable failure (budget) or nothing at all (stop: the Kafka offset is not
   * committed, so the attempt is made again after restart).
   */
  signal: AbortSignal;
  /**
   * When set: the engine itself aborts `signal` with a `TimeoutError` this many
   * ms after the attempt started. An executor whose own bound is no shorter
   * can rely on it instead of arming a timer of its own.
   */
  budgetMs?: number;
  /**
   * When set: calls `listener` once when the attempt is aborted (at once if it
   * already was), like `signal`'s abort event but without making the signal;
   * returns the unregistration. The engine sets it; an executor that can stop
   * its work with a callback prefers it (thousands of attempts per second).
   */
  onAbort?(listener: (reason: unknown) => void): () => void;
  /** The engine's clock (tests move it); use it for anything time-dependent (e.g. signatures). */
  now(): number;
}

/**
 * How an attempt went. The engine maps it to a durable outcome:
 * - `delivered`: done; the subscription's breaker records a success.
 * - `retry`: retriable failure; the next delay of `FORCEHOOK_RETRY_SCHEDULE`
 *   (or `retryAfterMs`, if larger, capped) via the retry topics; dead-lettered
 *   once the schedule is exhausted.
 * - `dead`: retrying cannot help (e.g. destination refused by the egress
 *   policy, workflow not registered): straight to the dead-letter topic.
 * - `disable`: the destination asked never to be called again (HTTP 410): the
 *   event is dead-lettered and the subscription is marked `disabled`.
 */
export type AttemptOutcome =
  | { result: 'delivered'; status?: number }
  | { result: 'retry'; error: string; status?: number; retryAfterMs?: number }
  | { result: 'dead'; error: string; status?: number }
  | { result: 'disable'; error: string; status?: number };

/**
 * Executes attempts for one destination type.
 *
 * Contract:
 * - `execute` resolves with an outcome for everything it can classify. If it
 *   rejects anyway, the engine treats that as `retry` with the error's message
 *   (a bug must not drop an event).
 * - At-least-once: the same (deliveryId, event.id) can be executed more than
 *   once (crash between the attempt and the offset commit, redelivery). Make
 *   side effects idempotent on `event.id` where the destination allows it.
 * - The engine calls `execute` concurrently, up to the subscription's
 *   concurrency limit, but never twice at once for the same record
 *   (`<orgId>:<recordId>`) of the same subscription.
 * - Errors put into outcomes end up in the API (`lastError`) and in the DLQ:
 *   keep them short and free of secrets and response bodies.
 */
export interface Executor<T extends DestinationType = DestinationType> {
  readonly type: T;
  execute(attempt: DeliveryAttempt<T>): Promise<AttemptOutcome>;
  /** The longest one attempt should take; the engine bounds the attempt's `signal` by it (`budgetMs`). */
  readonly timeoutMs?: number;
  /** Releases connections etc. at shutdown. */
  close?(): Promise<void>;
}

/** Executors by destination type; the engine refuses to start without one per type it meets (`dead` otherwise). */
export type ExecutorRegistry = Partial<{ [T in DestinationType]: Executor<T> }>;

/** The engine's clock: tests inject one they move by hand. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Calls `listener` once when the attempt is aborted (at once if it already was):
 * through the engine's `onAbort` when it offers one (no AbortSignal made), else
 * through `signal`. Returns the unregistration.
 */
export function onAttemptAbort(a: Pick<DeliveryAttempt, 'signal' | 'onAbort'>, listener: (reason: unknown) => void): () => void {
  if (a.onAbort) return a.onAbort(listener);
  if (a.signal.aborted) {
    listener(a.signal.reason);
    return () => undefined;
  }
  const onAbort = () => listener(a.signal.reason);
  a.signal.addEventListener('abort', onAbort, { once: true });
  return () => a.signal.removeEventListener('abort', onAbort);
}
