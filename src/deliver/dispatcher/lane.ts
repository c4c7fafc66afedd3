/**
 * One subscription's line of work on this instance: at most `limit` attempts
 * in flight, never two of the same record (`recordKey`) at once, and records
 * started in arrival order otherwise. Lanes are independent, so a slow
 * subscription fills only its own lane, never another's.
 */
/** How long attempts may go without completing before the lane's drain time is estimated from that alone. */
export const STALL_GRACE_MS = 1_000;

export interface LaneItem {
  recordKey: string;
}

/** Shared by the lanes of one dispatcher: when any of them last completed an attempt. */
export interface LaneProgress {
  lastCompletionAt: number;
}

export class Lane<T extends LaneItem> {
  /** Items from `#head` on are queued; the taken prefix is dropped now and then, not per take (O(n) each). */
  #queue: T[] = [];
  #head = 0;
  readonly #busy = new Set<string>();
  #inFlight = 0;
  /** Completions in the current measuring window, and the window before's rate (per ms). */
  #windowStart = 0;
  #windowDone = 0;
  #lastRate = 0;
  /** Since when attempts have been running without one completing (undefined: none running). */
  #stalledSince: number | undefined;

  constructor(
    private readonly limit: number,
    private readonly run: (item: T) => Promise<void>,
    private readonly now: () => number = Date.now,
    private readonly progress: LaneProgress = { lastCompletionAt: 0 },
  ) {}

  /**
   * How long the queue would take to drain: at the pace the lane completed
   * attempts over its last whole second (none in its first); without such a pace, as if every
   * attempt took at least as long as the running ones have gone without
   * completing (`limit` at a time), once that is over `STALL_GRACE_MS`. So a
   * fresh lane of a fast endpoint (a restart with a backlog, whose first
   * replies can wait a few hundred ms behind the event loop routing the first
   * fetch) is not taken for a stuck one, and a lane whose attempts hang while
   * other lanes complete theirs is within about a second.
   */
  expectedWaitMs(): number {
    this.#roll();
    const now = this.now();
    const elapsed = Math.max(1, now - this.#windowStart);
    // A pace needs a whole window first: the first completions of a fresh lane
    // trail a backlog being routed in, so its first fraction of a window reads slow.
    const rate = this.#lastRate > 0 ? Math.max(this.#lastRate, this.#windowDone / elapsed) : 0;
    if (rate > 0) return this.queued / rate;
    const stalled = this.#stalledSince === undefined ? 0 : now - this.#stalledSince;
    if (stalled < STALL_GRACE_MS) return 0;
    // Stalled alone, not with everyone: when no lane completed anything since,
    // the wait is this process's (a restart routing a large backlog keeps the
    // event loop from reading replies), not the endpoint's.
    if (this.progress.lastCompletionAt <= this.#stalledSince!) return 0;
    return Math.ceil(this.queued / this.limit) * stalled;
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
    return this.#queue.length - this.#head;
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
    return this.take(pred).length;
  }

  /** Removes queued (not started) items matching `pred` and returns them, in queue order. */
  take(pred: (item: T) => boolean): T[] {
    const taken: T[] = [];
    const kept: T[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const item = this.#queue[i]!;
      (pred(item) ? taken : kept).push(item);
    }
    this.#queue = kept;
    this.#head = 0;
    return taken;
  }

  #pump(): void {
    let i = this.#head;
    while (i < this.#queue.length && this.#inFlight < this.limit) {
      const item = this.#queue[i]!;
      // A later event of a record waits for the earlier one: per-record order.
      if (this.#busy.has(item.recordKey)) {
        i++;
        continue;
      }
      if (i === this.#head) this.#queue[this.#head++] = undefined as unknown as T;
      else this.#queue.splice(i, 1);
      this.#busy.add(item.recordKey);
      if (this.#inFlight++ === 0) this.#stalledSince = this.now();
      void this.run(item).finally(() => {
        this.#roll();
        this.#windowDone++;
        this.progress.lastCompletionAt = this.now();
        this.#stalledSince = this.#inFlight > 1 ? this.now() : undefined;
        this.#busy.delete(item.recordKey);
        this.#inFlight--;
        this.#pump();
      });
      // From the head again: `run` may have re-entered (a re-route) and moved the queue.
      i = this.#head;
    }
    if (this.#head > 1_024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
