import type { Logger } from 'pino';
import type { RetryPolicy } from '../../core/retry.js';
import type { SalesforceEgress } from '../../net/salesforce-egress.js';
import type { StreamingLimit } from './verdict.js';

/** Where a channel's stream stands: the replayId and the commit time of the change it carried. */
export interface CdcPosition {
  /** Opaque to Salesforce; increasing integers in practice, kept as a string so nothing rounds it. */
  replayId: string;
  /** `ChangeEventHeader.commitTimestamp` (ms); 0 when the event carried none, so a reconcile from it errs wide. */
  commitTimestamp: number;
}

export interface CdcMessage {
  /** The channel it was delivered on (the subscription, e.g. '/data/ChangeEvents' for the all-entities channel). */
  channel: string;
  replayId: string;
  /** The raw Bayeux `data`: `{schema, payload, event: {replayId}}`. */
  data: unknown;
}

/** What the subscriber needs of an org's authenticated session (OrgSession fits). */
export interface CdcSession {
  connectionId: string;
  orgId: string;
  instanceUrl: string;
  apiVersion: string;
  token(): Promise<string>;
  /** Replaces `stale` (single-flight per org); rejects with ReauthRequiredError when the grant is gone. */
  refresh(stale: string | undefined): Promise<string>;
  onTokenRefreshed(listener: (token: string) => void): () => void;
  /** Where the streaming client may connect, and how (OrgSession always has one; test doubles may not). */
  egress?: SalesforceEgress;
}

export type CdcState = 'idle' | 'connecting' | 'subscribed' | 'reconnecting' | 'paused' | 'limited' | 'needs_reauth' | 'stopped';

export interface CdcStateInfo {
  reason: string;
  error?: string;
}

/**
 * How CDC is followed: the Streaming API (CometD long polling at the instance) or the Pub/Sub API
 * (gRPC at `endpoint`, TLS, `ca` a PEM trusted besides the system's roots).
 */
export type CdcTransport =
  | { kind: 'cometd' }
  | {
      kind: 'pubsub';
      endpoint: string;
      ca?: string | undefined;
      /** Events a channel may have received and not yet handed to Kafka (its flow-control credit). @default 100 */
      window?: number;
      /**
       * Salesforce ends a stream that has nothing requested for 60 s. While Kafka holds the whole window,
       * one more event is asked for after this long, so a long outage trickles instead of losing the stream.
       * @default 45 000
       */
      keepOpenMs?: number;
    };

export interface CdcSubscriberOptions {
  session: CdcSession;
  /** @default cometd */
  transport?: CdcTransport;
  /** e.g. ['/data/AccountChangeEvent', '/data/Invoice__ChangeEvent']. */
  channels: string[];
  /**
   * Last durable position per channel (from checkpoints). A channel without one
   * starts at -1 (new events only): a brand-new subscription must not replay up to
   * 72 h of history as if it were happening now. Pass a position to resume instead.
   */
  positions: ReadonlyMap<string, CdcPosition>;
  /**
   * Channels without a position that must still be caught up from a time: a first
   * follow (changes made between following and the subscribe taking effect) or one
   * followed before but never advanced. Reconciled through `onGap` once the channel
   * is subscribed, exactly like a replay gap, so nothing falls between the read and
   * the stream.
   */
  catchUp?: ReadonlyMap<string, CdcPosition>;
  /**
   * Normalize, detect, publish. Resolves only once Kafka acknowledged every event of
   * the batch. Called sequentially, never concurrently, in arrival order; a rejection
   * makes the subscriber call it again with the same batch after a backoff.
   */
  handle(batch: CdcMessage[]): Promise<void>;
  /**
   * Persist checkpoints. Called only for positions whose messages `handle` already
   * acknowledged; may lag behind (coalesced, one call in flight). Receives the
   * channels that moved since the last successful commit.
   */
  commit(positions: Map<string, CdcPosition>): Promise<void>;
  /**
   * The stream cannot replay a window; the caller reconciles, through REST, what changed
   * after `since.commitTimestamp`. Called after the channel is subscribed again at -1,
   * so new changes already stream in meanwhile. Two causes:
   * - Salesforce rejected the channel's replayId (expired past retention, or unknown);
   *   `since` is the last position (undefined: the channel had none).
   * - A re-handshake or rebuild while the channel still replays from -1 (no event
   *   processed since it started without a position, or since a gap): `since` is the
   *   gap's position again, or `{replayId: '-1', commitTimestamp}` with the local time
   *   the channel was first subscribed, minus a minute for clock skew.
   * Retried with backoff while it rejects with a retriable error.
   */
  onGap(channel: string, since: CdcPosition | undefined): Promise<void>;
  /** The server refused a channel for a reason other than replay (e.g. entity not selected for CDC). */
  onChannelRejected?(channel: string, error: string): void;
  /**
   * An org-wide streaming allocation is spent (events delivered per 24 h, concurrent clients).
   * The subscriber has dropped its client and stays `limited`, retrying nothing: the caller
   * follows the org another way and starts a new subscriber when it wants to try again.
   */
  onLimited?(limit: StreamingLimit, error: string): void;
  logger: Logger;
  /**
   * Backoff of reconnects, handle retries and commit retries. `maxAttempts` is not a
   * give-up here: a stream retries for as long as it runs (only a revoked grant stops it).
   * @default initial 500 ms, ×2, at most 60 s, jitter 0.2
   */
  retry?: RetryPolicy;
  /** No /meta/connect reply nor event for this long → rebuild the client. @default 3 × the server's advised connect timeout (330 s for Salesforce) */
  silenceTimeoutMs?: number;
  /** Received-but-unprocessed messages above which the client is dropped until the backlog drains. @default 50 000 */
  maxBuffered?: number;
  /** @default 1000 */
  maxBatch?: number;
  onStateChange?(state: CdcState, info: CdcStateInfo): void;
}

export interface CdcSubscriber {
  start(): Promise<void>;
  /** Stops streaming, lets an in-flight `handle` settle, commits what was processed. Buffered messages are dropped (they come back from the checkpoint). */
  stop(): Promise<void>;
  /** Adds and removes channels on the running client; new channels start from `positions` (else the initial positions, else -1). */
  setChannels(channels: string[], positions?: ReadonlyMap<string, CdcPosition>, catchUp?: ReadonlyMap<string, CdcPosition>): Promise<void>;
  state(): CdcState;
  /** Latest processed (handled) position per channel, falling back to the checkpoint it started from. */
  positions(): Map<string, CdcPosition>;
}
