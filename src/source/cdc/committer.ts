import type { Logger } from 'pino';
import { delayFor, type RetryPolicy } from '../../core/retry.js';
import type { CdcPosition } from './types.js';

export interface CommitterOptions {
  take(): Map<string, CdcPosition>;
  restore(failed: Map<string, CdcPosition>): void;
  commit(positions: Map<string, CdcPosition>): Promise<void>;
  policy: RetryPolicy;
  logger: Logger;
}

/**
 * Checkpoints lag behind processing on purpose: `handle` must never wait for the
 * checkpoint store. Requests made while a commit is in flight coalesce into one
 * follow-up carrying the newest positions; a failed commit is retried after a
 * backoff (its positions stay dirty, so nothing is skipped, only delayed: a restart
 * meanwhile re-delivers a little more, with the same event ids).
 */
export class Committer {
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(private readonly opts: CommitterOptions) {}

  request(): void {
    if (this.#closed || this.#timer) return;
    this.#again = true;
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    try {
      while (this.#again && !this.#closed) {
        this.#again = false;
        if (!(await this.#commitOnce())) {
          this.#failures++;
          this.#timer = setTimeout(
            () => {
              this.#timer = undefined;
              this.request();
            },
            delayFor(this.opts.policy, this.#failures),
          );
          this.#timer.unref();
          return;
        }
        this.#failures = 0;
      }
    } finally {
      // Cleared in the same tick as the last `#again` check, so a request never falls between.
      this.#running = undefined;
    }
  }

  async #commitOnce(): Promise<boolean> {
    const positions = this.opts.take();
    if (positions.size === 0) return true;
    try {
      await this.opts.commit(positions);
      return true;
    } catch (err) {
      this.opts.restore(positions);
      this.opts.logger.warn({ err, channels: [...positions.keys()] }, 'checkpoint commit failed; will retry');
      return false;
    }
  }

  /** Waits for the commit in flight, then commits what is left once; no more commits after. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#commitOnce();
  }
}
