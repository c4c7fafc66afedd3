import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isKnownTransient, isReauthRequired, isRetriable } from '../../core/errors.js';
import { delayFor, retry, retryPolicy, type RetryPolicy } from '../../core/retry.js';
import { StateMachine } from '../../core/state-machine.js';
import { Committer } from './committer.js';
import { Cursors } from './cursors.js';
import { BatchPipeline, type Received } from './pipeline.js';
import { commitTimestampOf, replayIdOf } from './replay-id.js';
import { CDC_TRANSITIONS } from './states.js';
import { PubSubStream } from './pubsub/stream.js';
import { CometdStream, type CdcStream, type StreamHooks } from './stream.js';
import type { CdcMessage, CdcPosition, CdcState, CdcStateInfo, CdcSubscriber, CdcSubscriberOptions } from './types.js';
import type { Verdict } from './verdict.js';
import { sharedWheel, type Watch } from './watchdog.js';

export const DEFAULT_RETRY = retryPolicy({ initialDelayMs: 500, multiplier: 2, maxDelayMs: 60_000, jitter: 0.2 });
export const DEFAULT_MAX_BUFFERED = 50_000;
export const DEFAULT_MAX_BATCH = 1000;
/** Salesforce's connect timeout, until the server advises one. */
const SALESFORCE_CONNECT_TIMEOUT_MS = 110_000;
/**
 * A Pub/Sub keepalive's replay id travels through the pipeline like a message of its channel, so it is
 * checkpointed only after every event before it was acknowledged; `handle` never sees it.
 */
const KEEPALIVE: unknown = Object.freeze({ keepalive: true });
const isKeepalive = (m: CdcMessage): boolean => m.data === KEEPALIVE;

/**
 * The CDC subscriber of one org: one CometD client, or one Pub/Sub API channel, carrying every
 * channel. Immutable configuration lives here; everything tied to one client lives in a
 * CdcStream (CometdStream or PubSubStream), swapped whole on every rebuild (token refresh,
 * watchdog, backoff), so checkpoints, gaps and reconciles are one implementation for both.
 */
class Subscriber implements CdcSubscriber {
  readonly #opts: CdcSubscriberOptions;
  readonly #log: Logger;
  readonly #policy: RetryPolicy;
  readonly #maxBuffered: number;
  readonly #sm = new StateMachine<CdcState>('cdc-subscriber', CDC_TRANSITIONS, 'idle');
  readonly #cursors: Cursors;
  readonly #pipeline: BatchPipeline;
  readonly #committer: Committer;
  readonly #watch: Watch;
  readonly #abort = new AbortController();

  #stream: CdcStream | undefined;
  #token: string | undefined;
  #unlistenToken: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Channels subscribed in the current server-side session. */
  readonly #live = new Set<string>();
  /** Channels the server refused for good; not waited for. */
  readonly #rejected = new Set<string>();
  /** Channels resubscribed at -1 after a replay rejection; onGap is due once they are live. */
  readonly #gaps = new Map<string, CdcPosition | undefined>();
  readonly #gapTasks = new Set<Promise<void>>();
  #failures = 0;
  #authFailures = 0;
  #refreshing = false;
  #advisedTimeoutMs = SALESFORCE_CONNECT_TIMEOUT_MS;
  #stopping = false;

  constructor(opts: CdcSubscriberOptions) {
    // Every channel's reconcile retry waits on this one signal: more than ten
    // channels failing at once is normal (an outage), not a listener leak.
    setMaxListeners(0, this.#abort.signal);
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'cdc', orgId: opts.session.orgId, connectionId: opts.session.connectionId });
    this.#policy = opts.retry ?? DEFAULT_RETRY;
    this.#maxBuffered = opts.maxBuffered ?? DEFAULT_MAX_BUFFERED;
    this.#cursors = new Cursors(opts.channels, opts.positions);
    for (const ch of opts.channels) this.#catchUp(ch, opts.positions.get(ch), opts.catchUp);
    this.#pipeline = new BatchPipeline({
      handle: (batch) => {
        const events = batch.some(isKeepalive) ? batch.filter((m) => !isKeepalive(m)) : batch;
        return events.length > 0 ? opts.handle(events) : Promise.resolve();
      },
      onHandled: (batch) => this.#onHandled(batch),
      onDrained: () => this.#onDrained(),
      policy: this.#policy,
      maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH,
      logger: this.#log,
    });
    this.#committer = new Committer({
      take: () => this.#cursors.takeDirty(),
      restore: (failed) => this.#cursors.restore(failed),
      commit: opts.commit,
      policy: this.#policy,
      logger: this.#log,
    });
    this.#watch = sharedWheel.watch(() => this.#onSilence());
  }

  state(): CdcState {
    return this.#sm.state;
  }

  positions(): Map<string, CdcPosition> {
    return this.#cursors.positions();
  }

  async start(): Promise<void> {
    if (this.#sm.state !== 'idle') throw new Error(`cdc subscriber: start() in state ${this.#sm.state}`);
    this.#to('connecting', { reason: 'start' });
    let token: string;
    try {
      token = await this.#opts.session.token();
    } catch (err) {
      this.#authFailed(err);
      return;
    }
    if (!this.#running()) return;
    this.#token = token;
    // Listened to only now: the first token may itself come from a refresh.
    this.#unlistenToken = this.#opts.session.onTokenRefreshed((t) => this.#useToken(t));
    this.#build();
  }

  /** A channel starting without a position but with a time to catch up from reconciles it once subscribed. */
  #catchUp(channel: string, position: CdcPosition | undefined, catchUp: ReadonlyMap<string, CdcPosition> | undefined): void {
    const since = catchUp?.get(channel);
    if (!position && since && !this.#gaps.has(channel)) this.#gaps.set(channel, since);
  }

  async setChannels(channels: string[], positions?: ReadonlyMap<string, CdcPosition>, catchUp?: ReadonlyMap<string, CdcPosition>): Promise<void> {
    const wanted = new Set(channels);
    for (const ch of this.#cursors.channels()) {
      if (wanted.has(ch)) continue;
      this.#cursors.remove(ch);
      this.#stream?.unsubscribe(ch);
      this.#live.delete(ch);
      this.#rejected.delete(ch);
      this.#gaps.delete(ch);
      // Its received events still go out: whoever follows the object next starts from its checkpoint and
      // reads states, not changes (a record updated, then deleted, would show only its deletion).
    }
    let added = false;
    for (const ch of wanted) {
      if (this.#cursors.has(ch)) continue;
      // A channel given a catch-up starts at -1: the position it started with (an earlier period of the
      // same channel) would replay from before the object left the stream and skip what changed meanwhile.
      const position = positions?.get(ch) ?? (catchUp?.has(ch) ? undefined : this.#opts.positions.get(ch));
      this.#cursors.add(ch, position);
      this.#catchUp(ch, position, catchUp);
      this.#stream?.subscribe(ch);
      added = true;
    }
    // Not every channel is live again until the new one's subscribe is acknowledged.
    if (added && this.#sm.state === 'subscribed') this.#to('connecting', { reason: 'channel added' });
    // A client with no channel would only keep long-polling for nothing.
    if (this.#cursors.channels().length === 0) this.#drop();
    else if (!this.#stream && !this.#timer && this.#token !== undefined && this.#running() && this.#sm.state !== 'paused') this.#build();
    this.#checkSubscribed();
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#abort.abort();
    this.#clearTimer();
    this.#unlistenToken?.();
    this.#drop();
    await this.#pipeline.stop();
    // Dropped messages come back from the checkpoint; they must not count as duplicates then.
    this.#cursors.forgetReceived();
    await Promise.allSettled([...this.#gapTasks]);
    await this.#committer.close();
    this.#to('stopped', { reason: 'stop' });
  }

  // ---- client lifecycle -------------------------------------------------------------

  #running(): boolean {
    const s = this.#sm.state;
    return !this.#stopping && s !== 'needs_reauth' && s !== 'limited' && s !== 'stopped' && s !== 'idle';
  }

  #endpoint(): string {
    const { instanceUrl, apiVersion } = this.#opts.session;
    return `${instanceUrl.replace(/\/+$/, '')}/cometd/${apiVersion}`;
  }

  /** Replaces the client; the new one subscribes every channel from the latest processed positions. */
  #build(): void {
    this.#drop();
    const channels = this.#cursors.channels();
    if (channels.length === 0) {
      this.#checkSubscribed();
      return;
    }
    let stream: CdcStream;
    try {
      stream = this.#createStream({
        replayMap: () => this.#cursors.replayMap(),
        onMessage: (channel, data) => this.#onMessage(channel, data),
        onKeepalive: (channel, replayId) => this.#onKeepalive(channel, replayId),
        onActivity: () => this.#watch.touch(),
        onHandshake: () => {
          this.#live.clear();
          for (const ch of this.#cursors.channels()) {
            const lost = this.#cursors.lostWindow(ch);
            if (lost && !this.#gaps.has(ch)) this.#gaps.set(ch, lost.since);
          }
          if (this.#sm.state === 'subscribed') this.#to('reconnecting', { reason: 're-handshake' });
        },
        onConnected: () => this.#checkSubscribed(),
        onSubscribed: (channel) => this.#onSubscribed(channel),
        onVerdict: (verdict) => this.#onVerdict(verdict),
        onTransportDown: () => {
          if (this.#sm.state === 'subscribed') this.#to('reconnecting', { reason: 'transport down' });
        },
        onAdvisedTimeout: (ms) => {
          if (ms === this.#advisedTimeoutMs) return;
          this.#advisedTimeoutMs = ms;
          this.#watch.arm(this.#silenceMs());
        },
      });
    } catch (err) {
      // The instance URL on record is no host the egress allows: nothing is sent; tried again later.
      this.#log.error({ err: (err as Error).message }, 'streaming endpoint refused');
      this.#rebuildLater({ reason: 'endpoint refused', error: (err as Error).message });
      return;
    }
    this.#stream = stream;
    for (const ch of channels) if (!this.#rejected.has(ch)) stream.subscribe(ch);
    this.#watch.arm(this.#silenceMs());
  }

  #createStream(hooks: StreamHooks): CdcStream {
    const transport = this.#opts.transport ?? { kind: 'cometd' };
    const { session } = this.#opts;
    if (transport.kind === 'pubsub') {
      const target = { endpoint: transport.endpoint, ca: transport.ca, orgId: session.orgId, instanceUrl: session.instanceUrl };
      return new PubSubStream(target, this.#token!, hooks, session.egress, { window: transport.window, keepOpenMs: transport.keepOpenMs });
    }
    return new CometdStream(this.#endpoint(), this.#token!, this.#policy, hooks, session.egress);
  }

  #drop(): void {
    this.#stream?.close();
    this.#stream = undefined;
    this.#live.clear();
    this.#watch.disarm();
  }

  #silenceMs(): number {
    return this.#opts.silenceTimeoutMs ?? 3 * this.#advisedTimeoutMs;
  }

  #rebuildLater(info: CdcStateInfo): void {
    this.#drop();
    this.#to('reconnecting', info);
    this.#failures++;
    this.#later(delayFor(this.#policy, this.#failures), () => this.#build());
  }

  #later(delayMs: number, fn: () => void): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#running()) fn();
    }, delayMs);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onSilence(): void {
    if (!this.#running() || !this.#stream) return;
    if (this.#stream.starved?.()) {
      // Every channel waits for Kafka to take what it already has: the silence is ours.
      this.#watch.arm(this.#silenceMs());
      return;
    }
    this.#log.warn({ silenceMs: this.#silenceMs() }, 'streaming went silent; rebuilding the client');
    this.#to('reconnecting', { reason: 'silence' });
    this.#build();
  }

  #checkSubscribed(): void {
    const s = this.#sm.state;
    if (s !== 'connecting' && s !== 'reconnecting') return;
    if (!this.#stream && this.#cursors.channels().length > 0) return;
    for (const ch of this.#cursors.channels()) if (!this.#live.has(ch) && !this.#rejected.has(ch)) return;
    this.#failures = 0;
    this.#authFailures = 0;
    this.#to('subscribed', { reason: 'all channels subscribed' });
  }

  // ---- authentication ---------------------------------------------------------------

  /** A token from elsewhere (the session refreshed it for REST): the header must follow. */
  #useToken(token: string): void {
    if (token === this.#token && this.#stream) return;
    this.#token = token;
    // A live stream keeps its session: a token refreshed elsewhere (the refresh schedule, a REST call) does not
    // end the CometD client, and rebuilding it would reconnect and replay for nothing, for every org at every
    // scheduled refresh. Once the server refuses the old token, #reauth drops the client and builds it with this one.
    if (this.#stream) return;
    if (!this.#running() || this.#sm.state === 'paused') return;
    this.#to('reconnecting', { reason: 'token refreshed' });
    this.#clearTimer();
    this.#build();
  }

  /** The server refused the token: refresh (single-flight in the session) and rebuild. */
  async #reauth(error: string): Promise<void> {
    if (this.#refreshing) return;
    this.#refreshing = true;
    const stale = this.#stream?.token ?? this.#token;
    this.#drop();
    this.#to('reconnecting', { reason: 'authentication invalid', error });
    this.#authFailures++;
    try {
      // A token that is refused again right after a refresh is not fixed by refreshing faster.
      if (this.#authFailures > 1) await sleep(delayFor(this.#policy, this.#authFailures - 1), undefined, { signal: this.#abort.signal });
      const token = await this.#opts.session.refresh(stale);
      if (this.#running()) this.#useToken(token);
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#authFailed(err);
    } finally {
      this.#refreshing = false;
    }
  }

  #authFailed(err: unknown): void {
    if (!this.#running()) return;
    if (isReauthRequired(err)) {
      this.#log.warn({ err }, 'Salesforce refused the grant; the connection needs re-authorization');
      this.#drop();
      this.#clearTimer();
      this.#unlistenToken?.();
      this.#to('needs_reauth', { reason: 'refresh token revoked', error: (err as Error).message });
      return;
    }
    this.#log.warn({ err }, 'token refresh failed; retrying');
    this.#to('reconnecting', { reason: 'token refresh failed', error: (err as Error)?.message });
    this.#failures++;
    this.#later(delayFor(this.#policy, this.#failures), () => void this.#reauth('token refresh failed'));
  }

  // ---- server verdicts --------------------------------------------------------------

  #onVerdict(v: Verdict): void {
    if (!this.#running()) return;
    switch (v.kind) {
      case 'auth':
        void this.#reauth(v.error);
        return;
      case 'dead':
        this.#log.warn({ error: v.error }, 'streaming client refused for good; rebuilding after backoff');
        this.#rebuildLater({ reason: 'client refused', error: v.error });
        return;
      case 'invalid_replay': {
        const since = this.#cursors.gap(v.channel);
        if (!this.#gaps.has(v.channel)) this.#gaps.set(v.channel, since);
        this.#log.warn({ channel: v.channel, since, error: v.error }, 'replayId rejected; resubscribing at -1, the gap will be reconciled');
        this.#stream?.resubscribe(v.channel);
        return;
      }
      case 'limited':
        this.#log.warn({ limit: v.limit, error: v.error }, 'streaming allocation spent; the client is dropped and not retried here');
        this.#drop();
        this.#clearTimer();
        this.#to('limited', { reason: v.limit, error: v.error });
        this.#opts.onLimited?.(v.limit, v.error);
        return;
      case 'channel_rejected':
        this.#log.error({ channel: v.channel, error: v.error }, 'Salesforce refused the channel');
        this.#rejected.add(v.channel);
        this.#opts.onChannelRejected?.(v.channel, v.error);
        this.#checkSubscribed();
        return;
    }
  }

  #onSubscribed(channel: string): void {
    this.#live.add(channel);
    this.#cursors.live(channel, Date.now());
    const gap = this.#gaps.has(channel);
    const since = this.#gaps.get(channel);
    this.#gaps.delete(channel);
    // Only now: changes made during the reconcile must already be streaming in.
    if (gap) this.#reconcile(channel, since);
    this.#checkSubscribed();
  }

  #reconcile(channel: string, since: CdcPosition | undefined): void {
    const signal = this.#abort.signal;
    const task = (async () => {
      if (signal.aborted) return;
      let gaveUp = false;
      try {
        await retry(this.#policy, () => this.#opts.onGap(channel, since), {
          // Only failures known to pass are worth waiting for without end; an error code nobody
          // classified gets the policy's attempts, a refusal none.
          forever: isKnownTransient,
          signal,
          retryIf: (err) => {
            gaveUp = !isRetriable(err) || signal.aborted;
            return !gaveUp;
          },
          onRetry: (err, attempt, delay) => this.#log.warn({ err, channel, attempt, delay }, 'reconciling a replay gap failed; retrying'),
        });
      } catch (err) {
        // Stopped while waiting to try again: nothing failed.
        if (gaveUp) this.#log.error({ err, channel, since }, 'reconciling a replay gap failed');
      }
    })();
    this.#gapTasks.add(task);
    void task.finally(() => this.#gapTasks.delete(task));
  }

  // ---- messages ---------------------------------------------------------------------

  #onMessage(channel: string, data: unknown): void {
    const replayId = replayIdOf(data);
    if (replayId === undefined) {
      this.#log.warn({ channel }, 'CDC message without event.replayId; handled but not checkpointable');
      this.#pipeline.push({ message: { channel, replayId: '', data }, commitTimestamp: 0 });
      return;
    }
    // Re-handshakes resume from the processed position, so what is buffered comes again.
    if (!this.#cursors.accept(channel, replayId)) {
      this.#stream?.handled?.(channel, 1);
      return;
    }
    this.#pipeline.push({ message: { channel, replayId, data }, commitTimestamp: commitTimestampOf(data) });
    if (this.#pipeline.size > this.#maxBuffered && this.#sm.state !== 'paused') this.#pause();
  }

  /**
   * Downstream is not keeping up (Kafka down): stop receiving rather than grow without
   * bound. Nothing is lost: Salesforce keeps the events 72 h and the client resumes
   * from the processed position once the backlog is drained.
   */
  #pause(): void {
    this.#log.warn({ buffered: this.#pipeline.size, maxBuffered: this.#maxBuffered }, 'CDC backlog full; pausing the stream until it drains');
    this.#drop();
    this.#clearTimer();
    this.#to('paused', { reason: 'backlog full' });
  }

  #onDrained(): void {
    if (this.#sm.state !== 'paused' || this.#stopping) return;
    this.#to('reconnecting', { reason: 'backlog drained' });
    this.#build();
  }

  /**
   * A keepalive's replay id: the channel's stream is past every event up to it. Once what was received
   * before it is acknowledged it becomes the checkpoint, so an idle channel's position still advances.
   */
  #onKeepalive(channel: string, replayId: string): void {
    if (!this.#cursors.accept(channel, replayId)) return;
    const commitTimestamp = this.#cursors.commitTimestamp(channel);
    this.#pipeline.push({ message: { channel, replayId, data: KEEPALIVE }, commitTimestamp });
  }

  #onHandled(batch: Received[]): void {
    // Only now may these positions be resumed from or checkpointed: Kafka has them.
    const credit = new Map<string, number>();
    for (const { message, commitTimestamp } of batch) {
      if (message.replayId !== '') this.#cursors.processed(message.channel, { replayId: message.replayId, commitTimestamp });
      if (!isKeepalive(message)) credit.set(message.channel, (credit.get(message.channel) ?? 0) + 1);
    }
    // Pub/Sub flow control: what Kafka took may be asked for again.
    for (const [channel, n] of credit) this.#stream?.handled?.(channel, n);
    this.#committer.request();
  }

  #to(state: CdcState, info: CdcStateInfo): void {
    if (this.#sm.state === state) return;
    const from = this.#sm.state;
    this.#sm.to(state);
    this.#log.info({ from, to: state, ...info }, 'cdc subscriber state');
    this.#opts.onStateChange?.(state, info);
  }
}

export function createCdcSubscriber(opts: CdcSubscriberOptions): CdcSubscriber {
  return new Subscriber(opts);
}
