/**
 * Daily API request counter over a rolling 24 h, per org. 96 buckets of 15
 * minutes, allocated on first use and rolled lazily: no timers, a few hundred
 * bytes per org.
 */
const BUCKET_MS = 15 * 60 * 1000;
const BUCKETS = 96;

export class ApiCounter {
  private buckets: Uint32Array | undefined;
  private lastBucket = 0;
  private total = 0;

  constructor(public limit: number) {}

  used(now: number): number {
    this.roll(now);
    return this.total;
  }

  /** Counts one call unless the limit is reached; false = REQUEST_LIMIT_EXCEEDED. */
  tryCount(now: number): boolean {
    this.roll(now);
    if (this.total >= this.limit) return false;
    this.add(now, 1);
    return true;
  }

  /** Counts `n` uses whatever the limit. */
  add(now: number, n: number): void {
    if (n <= 0) return;
    this.roll(now);
    this.buckets ??= new Uint32Array(BUCKETS);
    this.buckets[this.lastBucket % BUCKETS]! += n;
    this.total += n;
  }

  private roll(now: number): void {
    const b = Math.floor(now / BUCKET_MS);
    if (!this.buckets) {
      this.lastBucket = b;
      return;
    }
    // A clock moved backwards keeps counting into the newest bucket.
    if (b <= this.lastBucket) return;
    const end = Math.min(b, this.lastBucket + BUCKETS);
    for (let i = this.lastBucket + 1; i <= end; i++) {
      this.total -= this.buckets[i % BUCKETS]!;
      this.buckets[i % BUCKETS] = 0;
    }
    this.lastBucket = b;
  }
}

export type Edition = 'developer' | 'enterprise' | 'unlimited';

/**
 * Streaming allocations by edition: concurrent CometD clients across all channels,
 * and events delivered to them per rolling 24 h (Developer Edition is a free org).
 */
export const EDITION_LIMITS: Record<Edition, { streamingClients: number; eventDelivery: number }> = {
  developer: { streamingClients: 20, eventDelivery: 10_000 },
  enterprise: { streamingClients: 1_000, eventDelivery: 25_000 },
  unlimited: { streamingClients: 2_000, eventDelivery: 50_000 },
};

/**
 * The org's event delivery allocation: every event handed to every streaming client
 * counts (one event to two clients uses two), over a rolling 24 h. `exhaustedUntil`
 * is the fault that spends it all at once until that time.
 */
export class DeliveryAllocation {
  private readonly counter: ApiCounter;
  exhaustedUntil = 0;

  constructor(readonly limit: number) {
    this.counter = new ApiCounter(limit);
  }

  used(now: number): number {
    return now < this.exhaustedUntil ? this.limit : Math.min(this.limit, this.counter.used(now));
  }

  remaining(now: number): number {
    return this.limit - this.used(now);
  }

  count(now: number, delivered: number): void {
    this.counter.add(now, delivered);
  }
}
