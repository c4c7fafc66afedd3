import type { SubscriptionRecord } from '../../state/records.js';
import type { DeliveryAttempt, StructuredEvent } from '../types.js';

/**
 * One attempt as the engine hands it to an executor, with its cancellation.
 *
 * An AbortController per attempt, and undici's listener on its signal, were
 * about a tenth of a webhook delivery's CPU at thousands per second. So the
 * signal exists only if an executor reads it (workflows do); an executor that
 * can stop its work with a callback (the webhook's request handler) registers
 * one through `onAbort` and no EventTarget is ever made.
 */
export class EngineAttempt implements DeliveryAttempt {
  #ac: AbortController | undefined;
  #listeners: ((reason: unknown) => void)[] | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(
    readonly deliveryId: string,
    readonly subscription: DeliveryAttempt['subscription'] & SubscriptionRecord,
    readonly event: StructuredEvent,
    readonly attempt: number,
    readonly budgetMs: number,
    readonly now: () => number,
  ) {}

  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.#aborted) this.#ac.abort(this.#reason);
    }
    return this.#ac.signal;
  }

  onAbort(listener: (reason: unknown) => void): () => void {
    if (this.#aborted) {
      listener(this.#reason);
      return () => undefined;
    }
    (this.#listeners ??= []).push(listener);
    return () => {
      const i = this.#listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.#listeners!.splice(i, 1);
    };
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#ac?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const l of listeners) l(reason);
  }
}
