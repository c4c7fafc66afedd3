import { toError } from '../../core/errors.js';
import type { TopicPartition } from '../../kafka/types.js';
import type { DispatchContext, Item } from './context.js';

/**
 * Commits. Outcomes finish out of order; the offset tracker hands out the end
 * of the longest prefix of records whose outcome is durable, and this commits
 * it at most every `commitIntervalMs`.
 */
export class Commits {
  #timer: unknown;
  #committing: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: DispatchContext,
    /** A record of `tp` became durable: the partition may have room again (back-pressure). */
    private readonly onDurable: (tp: TopicPartition) => void,
  ) {}

  /** The outcome of `item` is durable (delivered, or its retry/DLQ record acknowledged by Kafka). */
  durable(item: Item): void {
    if (item.share && --item.share.left > 0) return;
    if (this.ctx.tracker.done(item.taken)) {
      this.schedule();
      this.onDurable(item.taken.tp);
    }
  }

  schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.ctx.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#committing = this.#committing.then(() => this.#commitNow());
    }, this.ctx.cfg.commitIntervalMs);
  }

  /** At stop: the commit in flight, then whatever became durable since. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) this.ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#committing;
    await this.#commitNow();
  }

  async #commitNow(): Promise<void> {
    const { tracker, consumer } = this.ctx;
    const offsets = tracker.committable();
    if (offsets.length === 0 || !consumer) return;
    try {
      await consumer.commit(offsets);
      tracker.acknowledge(offsets);
    } catch (err) {
      // Usually a rebalance: the new owner re-reads from the last commit.
      this.ctx.log.warn({ err: toError(err).message }, 'dispatcher commit failed; retried with the next one');
    }
  }
}
