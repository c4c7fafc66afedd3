import { z } from 'zod';
import { StateMachine, type TransitionTable } from '../../core/state-machine.js';
import type { Clock } from '../types.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * closed    → open       after `failureThreshold` consecutive failures
 * open      → half_open  once the cooldown passed: ONE probe attempt goes out
 * open      → closed     an attempt started before opening succeeded
 * half_open → closed     the probe succeeded
 * half_open → open       the probe failed; the cooldown doubles (capped)
 */
export const BREAKER_TRANSITIONS: TransitionTable<BreakerState> = {
  closed: ['open'],
  open: ['half_open', 'closed'],
  half_open: ['closed', 'open'],
};

export const BreakerConfigSchema = z
  .object({
    failureThreshold: z.number().int().min(1).default(5),
    cooldownMs: z.number().int().min(0).default(30_000),
    maxCooldownMs: z.number().int().min(0).default(300_000),
  })
  .strict();
export type BreakerConfig = z.input<typeof BreakerConfigSchema>;

/** attempt: go; probe: go, and you are the half-open probe; reject: short-circuit. */
export type Admission = 'attempt' | 'probe' | 'reject';

/**
 * A per-subscription circuit breaker. While it is open, attempts are not made:
 * the records wait (held, their attempts not counted) until the breaker lets a
 * probe through, so a dead endpoint costs neither its 15 s timeouts nor the
 * subscription's concurrency slots nor the records' retries.
 */
export class CircuitBreaker {
  readonly #sm: StateMachine<BreakerState>;
  readonly #cfg: z.output<typeof BreakerConfigSchema>;
  #consecutive = 0;
  #cooldown: number;
  #openUntil = 0;
  #probeSince = 0;

  constructor(
    cfg: BreakerConfig,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.#cfg = BreakerConfigSchema.parse(cfg);
    this.#cooldown = this.#cfg.cooldownMs;
    this.#sm = new StateMachine<BreakerState>('circuit breaker', BREAKER_TRANSITIONS, 'closed');
  }

  get state(): BreakerState {
    return this.#sm.state;
  }

  get consecutiveFailures(): number {
    return this.#consecutive;
  }

  admit(): Admission {
    switch (this.#sm.state) {
      case 'closed':
        return 'attempt';
      case 'open':
        if (this.clock.now() < this.#openUntil) return 'reject';
        this.#sm.to('half_open');
        this.#probeSince = this.clock.now();
        return 'probe';
      case 'half_open':
        return 'reject';
    }
  }

  /**
   * When a record refused now may come back: the cooldown's end while open;
   * while a probe runs, the latest its verdict can come (`probeBoundMs` after
   * it started: the attempt's own time bound); now when closed.
   */
  nextAdmitAt(probeBoundMs: number): number {
    switch (this.#sm.state) {
      case 'closed':
        return this.clock.now();
      case 'open':
        return this.#openUntil;
      case 'half_open':
        return this.#probeSince + probeBoundMs;
    }
  }

  success(): void {
    this.#consecutive = 0;
    this.#cooldown = this.#cfg.cooldownMs;
    if (this.#sm.state !== 'closed') this.#sm.to('closed');
  }

  failure(): void {
    this.#consecutive++;
    if (this.#sm.state === 'half_open') {
      this.#cooldown = Math.min(this.#cfg.maxCooldownMs, this.#cooldown * 2);
      this.#open();
    } else if (this.#sm.state === 'closed' && this.#consecutive >= this.#cfg.failureThreshold) {
      this.#open();
    }
  }

  /** A probe that produced no verdict (shutdown): let the next attempt probe. */
  release(): void {
    if (this.#sm.state === 'half_open') this.#open(0);
  }

  #open(forMs = this.#cooldown): void {
    this.#openUntil = this.clock.now() + forMs;
    this.#sm.to('open');
  }
}

/** The breakers of one dispatcher, one per subscription, made on its first attempt. */
export class Breakers {
  readonly #byId = new Map<string, CircuitBreaker>();

  constructor(
    private readonly cfg: BreakerConfig,
    private readonly clock: Pick<Clock, 'now'>,
  ) {}

  of(subscriptionId: string): CircuitBreaker {
    let b = this.#byId.get(subscriptionId);
    if (!b) this.#byId.set(subscriptionId, (b = new CircuitBreaker(this.cfg, this.clock)));
    return b;
  }

  /** undefined when this instance has made no attempt for the subscription (since a restart or a rebalance). */
  get(subscriptionId: string): CircuitBreaker | undefined {
    return this.#byId.get(subscriptionId);
  }

  states(): Record<string, BreakerState> {
    return Object.fromEntries([...this.#byId].map(([id, b]) => [id, b.state]));
  }
}
