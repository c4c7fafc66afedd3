/**
 * One subscription's line of work on this instance: at most `limit` attempts
 * in flight, never two of the same record (`recordKey`) at once, and records
 * started in arrival order otherwise. Lanes are independent, so a slow
 * subscription fills only its own lane, never another's.
 */
export interface LaneItem {
  recordKey: string;
}

export class Lane<T extends LaneItem> {
  readonly #queue: T[] = [];
  readonly #busy = new Set<string>();
  #inFlight = 0;
  /** Completions in the current measuring window, and the window before's rate (per ms). */
  #windowStart = 0;
  #windowDone = 0;
  #lastRate = 0;

  constructor(
    private readonly limit: number,
    private readonly run: (item: T) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * How long the queue would take to drain at the pace the lane completed
   * attempts over about the last second (Infinity when nothing completed).
   */
  expectedWaitMs(): number {
    this.#roll();
    const elapsed = Math.max(1, this.now() - this.#windowStart);
    const rate = Math.max(this.#lastRate, this.#windowDone / elapsed);
    return rate > 0 ? this.#queue.length / rate : Infinity;
  }

  #roll(): void {
    const now = this.now();
    if (now - this.#windowStart >= 1_000) {
      this.#lastRate = this.#windowStart === 0 ? 0 : this.#windowDone / (now - this.#windowStart);
      this.#windowStart = now;
      this.#windowDone = 0;
    }
  }

  get queued(): number {
    return this.#queue.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  push(item: T): void {
    this.#queue.push(item);
    this.#pump();
  }

  /** Drops queued (not started) items matching `pred`; returns how many. */
  drop(pred: (item: T) => boolean): number {
    let n = 0;
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      if (pred(this.#queue[i]!)) {
        this.#queue.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  #pump(): void {
    for (let i = 0; i < this.#queue.length && this.#inFlight < this.limit; ) {
      const item = this.#queue[i]!;
      // A later event of a record waits for the earlier one: per-record order.
      if (this.#busy.has(item.recordKey)) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      this.#busy.add(item.recordKey);
      this.#inFlight++;
      void this.run(item).finally(() => {
        this.#roll();
        this.#windowDone++;
        this.#busy.delete(item.recordKey);
        this.#inFlight--;
        this.#pump();
      });
    }
  }
}
