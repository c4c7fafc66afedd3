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

  constructor(
    private readonly limit: number,
    private readonly run: (item: T) => Promise<void>,
  ) {}

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
        this.#busy.delete(item.recordKey);
        this.#inFlight--;
        this.#pump();
      });
    }
  }
}
