import type { RetryPolicy } from '../../core/retry.js';
import type { SalesforceEgress } from '../../net/salesforce-egress.js';
import { closeFayeClient, createFayeClient, type BayeuxMessage, type FayeClient, type FayeSubscription } from './faye-client.js';
import { classifyReply, type Verdict } from './verdict.js';

export interface StreamHooks {
  /** The replay map to put on a /meta/subscribe, computed when it is sent. */
  replayMap(): Record<string, number | string>;
  onMessage(channel: string, data: unknown): void;
  /** Any reply or event arrived: the stream is alive. */
  onActivity(): void;
  /** A new server-side session: every channel is being subscribed again. */
  onHandshake(): void;
  onConnected(): void;
  onSubscribed(channel: string): void;
  onVerdict(verdict: Verdict): void;
  onTransportDown(): void;
  onAdvisedTimeout(ms: number): void;
  /** Pub/Sub only: nothing to deliver, and the channel's stream is at `replayId` (a keepalive). */
  onKeepalive?(channel: string, replayId: string): void;
}

/** What the subscriber drives: a CometD client, or Pub/Sub streams over one HTTP/2 channel. */
export interface CdcStream {
  readonly token: string;
  subscribe(channel: string): void;
  resubscribe(channel: string): void;
  unsubscribe(channel: string): void;
  close(): void;
  /** Flow control: these messages of `channel` were handed to Kafka (or were duplicates). */
  handled?(channel: string, count: number): void;
  /** True while the stream is silent by its own choice (no credit left until Kafka acknowledges). */
  starved?(): boolean;
}

/**
 * One faye client and what belongs to it alone (its subscriptions, its pending
 * subscribe ids). The subscriber swaps a whole CometdStream when it rebuilds, and a
 * closed one is inert: its late replies reach no hook and it sends nothing but its
 * disconnect.
 */
export class CometdStream implements CdcStream {
  readonly #client: FayeClient;
  #closed = false;
  readonly #subs = new Map<string, FayeSubscription>();
  /** Subscribe replies need not echo `subscription`; the request id tells which channel it was. */
  readonly #pending = new Map<string, string>();

  constructor(
    endpoint: string,
    readonly token: string,
    policy: RetryPolicy,
    private readonly hooks: StreamHooks,
    egress?: SalesforceEgress,
  ) {
    this.#client = createFayeClient(endpoint, token, policy, egress);
    this.#client.addExtension({
      outgoing: (m, next) => next(this.#outgoing(m)),
      incoming: (m, next) => this.#incoming(m, next),
    });
    this.#client.bind('transport:down', () => {
      if (!this.#closed) this.hooks.onTransportDown();
    });
  }

  subscribe(channel: string): void {
    if (this.#closed) return;
    const sub = this.#client.subscribe(channel, (data) => {
      if (!this.#closed) this.hooks.onMessage(channel, data);
    });
    this.#subs.set(channel, sub);
    // faye drops the listener of a failed subscribe of ours (not of its own re-subscribes).
    sub.then(undefined, () => {
      if (this.#subs.get(channel) === sub) this.#subs.delete(channel);
    });
  }

  /**
   * Subscribes `channel` again after the server refused its replayId. Deferred so that
   * faye has settled the failed subscription first: whether our listener survived
   * decides between re-sending the subscribe and subscribing anew (two listeners would
   * deliver every event twice).
   */
  resubscribe(channel: string): void {
    setImmediate(() => {
      if (this.#closed) return;
      if (this.#subs.has(channel)) this.#client.subscribe(channel, true);
      else this.subscribe(channel);
    });
  }

  unsubscribe(channel: string): void {
    this.#subs.get(channel)?.cancel();
    this.#subs.delete(channel);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subs.clear();
    this.#pending.clear();
    closeFayeClient(this.#client);
  }

  #outgoing(m: BayeuxMessage): BayeuxMessage | null {
    if (this.#closed) return m.channel === '/meta/disconnect' ? m : null;
    if (m.channel === '/meta/handshake') {
      m.ext = { ...m.ext, replay: true };
    } else if (m.channel === '/meta/subscribe') {
      // Every subscribe carries every channel, including faye's own re-subscribes after
      // a re-handshake: Salesforce rejects a map that lacks the channel being subscribed.
      m.ext = { ...m.ext, replay: this.hooks.replayMap() };
      if (m.id !== undefined && m.subscription !== undefined) this.#pending.set(m.id, m.subscription);
    }
    return m;
  }

  #incoming(m: BayeuxMessage, next: (m: BayeuxMessage) => void): void {
    if (this.#closed) {
      next(m);
      // A handshake answered after close would leave a server-side client behind.
      if (m.channel === '/meta/handshake' && m.successful) setImmediate(() => this.#client.disconnect());
      return;
    }
    this.hooks.onActivity();
    let subscribeChannel: string | undefined;
    if (m.channel === '/meta/subscribe' && m.id !== undefined) {
      subscribeChannel = this.#pending.get(m.id);
      this.#pending.delete(m.id);
    }
    if (typeof m.advice?.timeout === 'number' && m.advice.timeout > 0) this.hooks.onAdvisedTimeout(m.advice.timeout);
    const verdict = classifyReply(m, subscribeChannel);
    next(m);
    if (this.#closed) return;
    if (verdict) {
      this.hooks.onVerdict(verdict);
      return;
    }
    if (m.successful !== true) return;
    if (m.channel === '/meta/handshake') this.hooks.onHandshake();
    else if (m.channel === '/meta/connect') this.hooks.onConnected();
    else if (m.channel === '/meta/subscribe') {
      const ch = m.subscription ?? subscribeChannel;
      if (ch) this.hooks.onSubscribed(ch);
    }
  }
}
