import { toError } from '../../core/errors.js';
import type { Metrics } from '../../observability/metrics.js';
import type { SubscriptionRecord } from '../../state/records.js';
import { deliveryId } from '../record.js';
import type { AttemptOutcome, DeliveryAttempt, Executor } from '../types.js';
import { EngineAttempt } from './attempt.js';
import type { Breakers, CircuitBreaker } from './breaker.js';
import type { DispatchContext, Item } from './context.js';
import type { Outcomes } from './outcomes.js';
import { planHold, planNext, type Hold, type Next } from './plan.js';
import { withMapped } from '../mapped.js';

/**
 * The labelled children of the per-attempt metrics, looked up once per
 * (type, outcome): prom-client hashes a labels object on every call, which
 * showed in the delivery profile at thousands of attempts per second.
 */
const attemptMetrics = new WeakMap<Metrics, Map<string, { duration: { observe(v: number): void }; attempts: { inc(): void } }>>();
function perAttempt(m: Metrics, type: string, outcome: string): { duration: { observe(v: number): void }; attempts: { inc(): void } } {
  let byKey = attemptMetrics.get(m);
  if (!byKey) attemptMetrics.set(m, (byKey = new Map()));
  const key = `${type}\u0000${outcome}`;
  let c = byKey.get(key);
  if (!c) byKey.set(key, (c = { duration: m.deliveryDuration.labels({ type }), attempts: m.deliveryAttempts.labels({ type, outcome }) }));
  return c;
}

export interface AttemptRunnerDeps {
  breakers: Breakers;
  outcomes: Outcomes;
  durable(item: Item): void;
  /** The subscription is gone by the time of the attempt: routed again (which settles it). */
  route(item: Item): void;
  /** A verdict moved a breaker (held records may be due now). */
  breakerMoved(subscriptionId: string, breaker: CircuitBreaker): void;
}

/**
 * Attempts: one record through the executor of its subscription's destination
 * type, behind the subscription's circuit breaker, then its next step planned
 * (`plan.ts`) and made durable: done, a retry, a hold, or a dead letter.
 */
export class AttemptRunner {
  /** Attempts in flight, aborted together at stop (one set rather than a stop listener per attempt). */
  readonly #inFlight = new Set<EngineAttempt>();
  readonly #now: () => number;

  constructor(
    private readonly ctx: DispatchContext,
    private readonly d: AttemptRunnerDeps,
  ) {
    this.#now = () => ctx.clock.now();
  }

  async run(item: Item): Promise<void> {
    const { ctx, d } = this;
    const { deps, cfg, schedule, clock } = ctx;
    if (!ctx.tracker.isCurrent(item.taken) || ctx.stopping.aborted) return; // revoked or stopping: re-read later
    const { record } = item;
    const sub = deps.subscription(record.subscriptionId);
    // Deleted (settled there) or paused since it was queued (parked there until resumed).
    if (!sub || sub.pausedAt !== undefined) return d.route(item);
    const type = sub.destination.type;
    const executor = deps.executors[type] as Executor | undefined;
    let next: Next | Hold;
    if (!executor) {
      next = planNext(record, { result: 'dead', error: `no executor for destination type '${type}' on this instance` }, schedule, clock.now());
    } else {
      // One timer per attempt, bounded by the executor's own limit too, so the
      // executor needs none of its own; the attempt makes an AbortSignal only
      // if the executor asks for one (EngineAttempt).
      const budgetMs = Math.min(cfg.attemptTimeoutMs, executor.timeoutMs ?? Infinity);
      const breaker = d.breakers.of(sub.id);
      if (breaker.admit() === 'reject') {
        // No request is made, so no attempt is counted: the record waits for the breaker.
        deps.metrics?.deliveryAttempts.inc({ type, outcome: 'short_circuit' });
        next = planHold(record, schedule, clock.now(), { until: breaker.nextAdmitAt(budgetMs), graceMs: cfg.breaker.maxCooldownMs });
      } else {
        const started = clock.now();
        const outcome = await this.#execute(item, sub, executor, budgetMs);
        if (!outcome) {
          breaker.release();
          return; // no verdict: the offset stays uncommitted and the attempt is made again
        }
        const before = breaker.state;
        if (outcome.result === 'delivered') breaker.success();
        else breaker.failure();
        if (breaker.state !== before) d.breakerMoved(sub.id, breaker);
        deps.keeper.attempt(sub.id, outcome.result === 'delivered', outcome.result === 'delivered' ? undefined : outcome.error);
        d.outcomes.logAttempt({
          subscriptionId: sub.id,
          eventId: record.event.id,
          attempt: record.attempts + 1,
          at: new Date(started).toISOString(),
          status: outcome.result === 'delivered' ? 'delivered' : 'failed',
          durationMs: clock.now() - started,
          ...(outcome.status !== undefined ? { responseStatus: outcome.status } : {}),
          ...(outcome.result !== 'delivered' ? { error: outcome.error } : {}),
        });
        next = planNext(record, outcome, schedule, clock.now(), deps.random);
      }
    }
    try {
      switch (next.action) {
        case 'done':
          d.durable(item);
          return;
        case 'retry':
        case 'hold':
          await d.outcomes.produce(deps.topics.retry(next.tier), next.record);
          d.durable(item);
          return;
        case 'dlq':
          if (next.disable) await deps.keeper.disable(sub.id, next.record.lastError ?? 'destination gone');
          await d.outcomes.deadLetter(item, next.record, next.reason);
          return;
      }
    } catch (err) {
      if (!ctx.stopping.aborted) ctx.log.error({ err }, 'recording a delivery outcome failed; the record will be read again');
    }
  }

  /** At stop: every attempt in flight ends without a verdict. */
  abortAll(reason: unknown): void {
    for (const a of this.#inFlight) a.abort(reason);
    this.#inFlight.clear();
  }

  /** One real attempt; undefined when the dispatcher stopped meanwhile (no verdict). */
  async #execute(item: Item, sub: SubscriptionRecord, executor: Executor, budgetMs: number): Promise<AttemptOutcome | undefined> {
    const { ctx } = this;
    const { record } = item;
    const started = ctx.clock.now();
    // The mapping's labels are the subscription's view of the event: added for this attempt only.
    const event = withMapped(record.event, sub);
    const a = new EngineAttempt(deliveryId(record), sub as DeliveryAttempt['subscription'], event, record.attempts + 1, budgetMs, this.#now);
    const timer = setTimeout(() => a.abort(new DOMException(`attempt exceeded ${budgetMs} ms`, 'TimeoutError')), budgetMs);
    this.#inFlight.add(a);
    let outcome: AttemptOutcome;
    try {
      outcome = await executor.execute(a);
    } catch (err) {
      outcome = { result: 'retry', error: `executor failed: ${toError(err).message}` };
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(a);
    }
    if (ctx.stopping.aborted) return undefined;
    const { metrics } = ctx.deps;
    if (metrics) {
      const m = perAttempt(metrics, sub.destination.type, outcome.result);
      m.duration.observe((ctx.clock.now() - started) / 1000);
      m.attempts.inc();
    }
    return outcome;
  }
}
