import type { TopicPartition } from '../../kafka/types.js';
import { tpKey, type DispatchContext } from './context.js';

/**
 * Back-pressure. When this instance holds `maxOpenPerPartition` records of a
 * partition whose outcome is not yet durable, the slow lanes' queued records of
 * that partition are deferred (`evictSlow`); only if there are none is the
 * partition paused, and resumed once that halves.
 */
export class BackPressure {
  readonly #paused = new Map<string, TopicPartition>();

  constructor(
    private readonly ctx: DispatchContext,
    /** Defers the queued records of `tp` that slow lanes would not reach soon; returns how many. */
    private readonly evictSlow: (tp: TopicPartition) => number,
  ) {}

  check(tp: TopicPartition): void {
    const { tracker, cfg, log } = this.ctx;
    const open = tracker.openCount(tp);
    const k = tpKey(tp);
    if (open >= cfg.maxOpenPerPartition && !this.#paused.has(k)) {
      // Pausing stops every subscription reading this partition. When a slow but
      // alive endpoint is what holds the partition's records open, move its lane's
      // queued records of this partition to the first retry tier instead: they are
      // durable there, the commit position moves past them, and the others go on.
      if (this.evictSlow(tp) > 0) return;
      this.#paused.set(k, tp);
      this.ctx.consumer?.pause([tp]);
      log.info({ ...tp, open }, 'partition paused: too many records without a durable outcome');
    } else if (this.#paused.has(k)) {
      if (open < cfg.maxOpenPerPartition / 2) {
        this.#paused.delete(k);
        this.ctx.consumer?.resume([tp]);
      } else {
        // A lane can turn out slow only after the pause (its pace needs a whole second): look again, now and then.
        this.evictSlow(tp);
      }
    }
  }

  /** The partition was revoked. */
  forget(tp: TopicPartition): void {
    this.#paused.delete(tpKey(tp));
  }
}
