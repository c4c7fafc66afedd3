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
    this.buckets ??= new Uint32Array(BUCKETS);
    this.buckets[this.lastBucket % BUCKETS]!++;
    this.total++;
    return true;
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
