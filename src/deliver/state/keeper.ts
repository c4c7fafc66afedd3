/**
 * Delivery state per subscription (status, counters, last error, DLQ count),
 * kept in the compacted state topic so that every instance's API shows it and
 * it survives restarts. Attempts happen far more often than anyone reads the
 * counters, so increments are gathered in memory and written coalesced (one
 * record per subscription per flush). Counters are therefore "durable enough":
 * a crash loses at most one flush interval of increments; deliveries and dead
 * letters themselves are never lost (they live in Kafka topics).
 *
 * Status changes (410 → disabled) are written at once, not coalesced.
 */
import type { Logger } from '../../core/log.js';
import type { DeliveryStateRecord } from '../../state/records.js';
import type { ServiceStore } from '../../state/store.js';
import type { Clock } from '../types.js';

interface Delta {
  attempts: number;
  delivered: number;
  failures: number;
  /** Failures since the last success in this window; `reset` = a success happened. */
  consecutive: number;
  reset: boolean;
  lastError?: string;
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  dlq: number;
}

const emptyDelta = (): Delta => ({ attempts: 0, delivered: 0, failures: 0, consecutive: 0, reset: false, dlq: 0 });

export function initialDeliveryState(subscriptionId: string, now: number): DeliveryStateRecord {
  return {
    subscriptionId,
    status: 'active',
    attempts: 0,
    delivered: 0,
    failures: 0,
    consecutiveFailures: 0,
    dlqCount: 0,
    updatedAt: new Date(now).toISOString(),
  };
}

/** `failing` while the last attempts failed; the API's view of a subscription's delivery. */
export function deliveryView(d: DeliveryStateRecord | undefined) {
  if (!d) return { state: 'active' as const, attempts: 0, delivered: 0, failures: 0, consecutiveFailures: 0, dlqCount: 0 };
  const { subscriptionId: _id, dlqFrom: _from, status, ...rest } = d;
  return { state: status === 'disabled' ? ('disabled' as const) : d.consecutiveFailures > 0 ? ('failing' as const) : ('active' as const), ...rest };
}

export class DeliveryStateKeeper {
  readonly #deltas = new Map<string, Delta>();
  #timer: unknown;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<ServiceStore, 'deliveryState' | 'putDeliveryState' | 'subscription'> & Partial<Pick<ServiceStore, 'connection'>>,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly flushMs = 1_000,
  ) {}

  #delta(id: string): Delta {
    let d = this.#deltas.get(id);
    if (!d) this.#deltas.set(id, (d = emptyDelta()));
    this.#schedule();
    return d;
  }

  attempt(id: string, ok: boolean, error?: string): void {
    const d = this.#delta(id);
    const now = this.clock.now();
    d.attempts++;
    d.lastAttemptAt = now;
    if (ok) {
      d.delivered++;
      d.reset = true;
      d.consecutive = 0;
      d.lastSuccessAt = now;
    } else {
      d.failures++;
      d.consecutive++;
      if (error !== undefined) d.lastError = error;
    }
  }

  deadLettered(id: string): void {
    this.#delta(id).dlq++;
  }

  /** Writes now: an operator must see `disabled` at once. */
  async disable(id: string, reason: string): Promise<void> {
    await this.flush();
    const base = this.store.deliveryState(id) ?? initialDeliveryState(id, this.clock.now());
    if (base.status === 'disabled') return;
    await this.store.putDeliveryState({ ...base, status: 'disabled', statusReason: reason, updatedAt: new Date(this.clock.now()).toISOString() });
    this.logger.warn({ ...this.#who(id), reason }, 'subscription disabled');
  }

  /** What a line about a subscription names: the subscription, its connection and its org. */
  #who(id: string): { subscriptionId: string; connectionId?: string; orgId?: string } {
    const connectionId = this.store.subscription(id)?.connectionId;
    const orgId = connectionId === undefined ? undefined : this.store.connection?.(connectionId)?.orgId;
    return { subscriptionId: id, ...(connectionId ? { connectionId } : {}), ...(orgId ? { orgId } : {}) };
  }

  isDisabled(id: string): boolean {
    return this.store.deliveryState(id)?.status === 'disabled';
  }

  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow());
    return this.#flushing;
  }

  stop(): Promise<void> {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.flush();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  async #flushNow(): Promise<void> {
    const pending = [...this.#deltas];
    this.#deltas.clear();
    for (const [id, d] of pending) {
      if (!this.store.subscription(id)) continue; // deleted meanwhile: nothing to show
      const base = this.store.deliveryState(id) ?? initialDeliveryState(id, this.clock.now());
      const next: DeliveryStateRecord = {
        ...base,
        attempts: base.attempts + d.attempts,
        delivered: base.delivered + d.delivered,
        failures: base.failures + d.failures,
        consecutiveFailures: d.reset ? d.consecutive : base.consecutiveFailures + d.consecutive,
        dlqCount: base.dlqCount + d.dlq,
        ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
        ...(d.lastAttemptAt !== undefined ? { lastAttemptAt: new Date(d.lastAttemptAt).toISOString() } : {}),
        ...(d.lastSuccessAt !== undefined ? { lastSuccessAt: new Date(d.lastSuccessAt).toISOString() } : {}),
        updatedAt: new Date(this.clock.now()).toISOString(),
      };
      try {
        await this.store.putDeliveryState(next);
        // One line when the subscription turns failing or recovers, however many attempts it took.
        const from = deliveryView(base).state;
        const to = deliveryView(next).state;
        if (from !== to) {
          const line = {
            ...this.#who(id),
            from,
            to,
            consecutiveFailures: next.consecutiveFailures,
            ...(to === 'failing' ? { lastError: next.lastError } : {}),
          };
          if (to === 'failing') this.logger.warn(line, 'subscription delivery state');
          else this.logger.info(line, 'subscription delivery state');
        }
      } catch (err) {
        this.logger.warn({ err, subscriptionId: id }, 'delivery state write failed; retried at the next flush');
        const again = this.#delta(id);
        again.attempts += d.attempts;
        again.delivered += d.delivered;
        again.failures += d.failures;
        again.dlq += d.dlq;
        if (!again.reset) {
          again.reset = d.reset;
          again.consecutive += d.consecutive;
        }
        again.lastError ??= d.lastError;
      }
    }
  }
}
