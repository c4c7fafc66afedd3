import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Runs "bring key K in line with the current state" work: one task at a time per
 * key, in order, different keys side by side up to `concurrency`.
 *
 * A task reads the state when it runs, so asking again for a key whose task is
 * still waiting adds nothing: the waiting one will see the newer state.
 */
export class SyncQueue {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #waiting = new Set<string>();
  readonly #limit: LimitFunction;

  constructor(
    concurrency: number,
    private readonly onError: (err: unknown, key: string) => void,
  ) {
    this.#limit = pLimit(concurrency);
  }

  push(key: string, task: () => Promise<void>): void {
    if (this.#waiting.has(key)) return;
    this.#waiting.add(key);
    const run = () => {
      this.#waiting.delete(key);
      return task();
    };
    const tail = (this.#tails.get(key) ?? Promise.resolve())
      .then(() => this.#limit(run))
      .catch((err: unknown) => this.onError(err, key))
      .finally(() => {
        if (this.#tails.get(key) === tail) this.#tails.delete(key);
      });
    this.#tails.set(key, tail);
  }

  /** Keys with work queued or running. */
  get size(): number {
    return this.#tails.size;
  }

  /** Resolves once nothing is queued or running, including work pushed meanwhile. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }
}
