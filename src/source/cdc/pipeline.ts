import type { Logger } from 'pino';
import { retry, type RetryPolicy } from '../../core/retry.js';
import type { CdcMessage } from './types.js';

export interface Received {
  message: CdcMessage;
  commitTimestamp: number;
}

export interface PipelineOptions {
  handle(batch: CdcMessage[]): Promise<void>;
  /** `handle` resolved for this batch: everything in it is durable downstream. */
  onHandled(batch: Received[]): void;
  /** The buffer just became empty. */
  onDrained(): void;
  policy: RetryPolicy;
  maxBatch: number;
  logger: Logger;
}

/**
 * faye delivers messages one at a time; `handle` wants batches and must see them in
 * arrival order, one call at a time. One loop takes whatever is buffered, hands it
 * over, and only then takes more. A failed batch is retried as is until it succeeds:
 * splitting, skipping or reordering it would break per-record order downstream.
 */
export class BatchPipeline {
  #buffer: Received[] = [];
  #head = 0;
  #loop: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(private readonly opts: PipelineOptions) {}

  get size(): number {
    return this.#buffer.length - this.#head;
  }

  push(item: Received): void {
    if (this.#abort.signal.aborted) return;
    this.#buffer.push(item);
    this.#loop ??= this.#run();
  }

  /** Forgets what is buffered (not what is in flight). */
  drop(): void {
    this.#buffer = [];
    this.#head = 0;
  }

  /** Keeps only buffered messages `keep` accepts (a removed channel's messages go). */
  filter(keep: (item: Received) => boolean): void {
    this.#buffer = this.#buffer.slice(this.#head).filter(keep);
    this.#head = 0;
  }

  /** Ends the loop after the `handle` call in flight settles; retries stop. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.drop();
    await this.#loop;
  }

  #take(): Received[] {
    const end = Math.min(this.#buffer.length, this.#head + this.opts.maxBatch);
    const batch = this.#buffer.slice(this.#head, end);
    this.#head = end;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  async #run(): Promise<void> {
    try {
      // Let the messages of one Bayeux response gather into one batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.size > 0 && !this.#abort.signal.aborted) {
        const batch = this.#take();
        if (!(await this.#handle(batch))) return;
        this.opts.onHandled(batch);
        if (this.size === 0) this.opts.onDrained();
      }
    } finally {
      // Cleared in the same tick as the last size check, so a push never falls between.
      this.#loop = undefined;
    }
  }

  async #handle(batch: Received[]): Promise<boolean> {
    const messages = batch.map((r) => r.message);
    const signal = this.#abort.signal;
    try {
      // Every failure is tried again, the same batch, until it is handed off: the stream moves on only after.
      await retry(this.opts.policy, () => this.opts.handle(messages), {
        forever: true,
        signal,
        retryIf: () => !signal.aborted,
        onRetry: (err, attempt, delay) =>
          this.opts.logger.warn({ err, attempt, delay, size: messages.length }, 'handling a CDC batch failed; retrying the same batch'),
      });
      return true;
    } catch {
      // Only a stop ends the retries.
      return false;
    }
  }
}
