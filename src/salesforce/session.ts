import { Connection } from 'jsforce';
import { TransientError, isReauthRequired } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { SalesforceEgress } from '../net/salesforce-egress.js';
import { StateMachine, type TransitionTable } from '../core/state-machine.js';
import { guardConnection } from './jsforce-transport.js';
import { ReauthRequiredError, refreshAccessToken, type OAuthClient } from './oauth.js';
import type { SessionToken, TokenSource } from './tokens.js';

/** The REST API version forcehook speaks (CDC over CometD needs ≥ 37; CampaignMember events ≥ 46). */
export const API_VERSION = '59.0';

export type SessionState = 'idle' | 'active' | 'refreshing' | 'needs_reauth' | 'closed';

const TRANSITIONS: TransitionTable<SessionState> = {
  idle: ['refreshing', 'closed'],
  active: ['refreshing', 'closed'],
  refreshing: ['active', 'needs_reauth', 'idle', 'closed'],
  needs_reauth: ['closed'],
  closed: [],
};

interface OrgSessionBase {
  connectionId: string;
  orgId: string;
  instanceUrl: string;
  /** A token already in hand (e.g. from the call that validated the connection). */
  accessToken?: string;
  logger: Logger;
  /** Every call this session makes to the org goes through it (REST, streaming, token refresh). */
  egress: SalesforceEgress;
  /** A refresh failed for good: the connection needs a person to re-authorize it. */
  onReauthRequired?: (reason: string) => void;
  /** A refresh reported another instance URL than the one in use: the org moved; persist it. */
  onInstanceUrl?: (instanceUrl: string) => void;
}

/**
 * Either the service's shared token keeper (tokens on record, refreshed by the
 * org's owner), or a grant of its own (tests and tools: this session alone
 * refreshes it, keeping a rotated refresh token in memory).
 */
export type OrgSessionOptions = OrgSessionBase & ({ tokens: TokenSource } | { oauth: OAuthClient; refreshToken: string });

/**
 * For this long after a refresh reported a new instance URL, a refusal of the current token
 * is not refreshed again: the request was built for the instance the org has left, and
 * jsforce would retry it at that same URL after every refresh, for ever (jsforce#196, #1766).
 */
const MOVED_MS = 10_000;

/**
 * One org's authenticated session. Access-token refresh is single-flight per
 * org: Salesforce may reject concurrent refreshes, and the REST client, the
 * streaming client and workflows all share this one token. Listeners learn of
 * a new token so that the streaming client, which bakes the token into its
 * handshake header, can be rebuilt.
 */
export class OrgSession {
  readonly connectionId: string;
  readonly orgId: string;
  readonly apiVersion = API_VERSION;
  #instanceUrl: string;
  #accessToken: string | undefined;
  #refreshToken: string | undefined;
  #inflight: Promise<string> | undefined;
  #conn: Connection | undefined;
  #movedAt = 0;
  readonly #state: StateMachine<SessionState>;
  readonly #listeners = new Set<(token: string) => void>();

  constructor(private readonly opts: OrgSessionOptions) {
    this.connectionId = opts.connectionId;
    this.orgId = opts.orgId;
    const onRecord = 'tokens' in opts ? opts.tokens.current() : undefined;
    this.#instanceUrl = onRecord?.instanceUrl ?? opts.instanceUrl;
    this.#accessToken = opts.accessToken ?? onRecord?.accessToken;
    this.#refreshToken = 'refreshToken' in opts ? opts.refreshToken : undefined;
    this.#state = new StateMachine('session', TRANSITIONS, this.#accessToken ? 'active' : 'idle');
  }

  get state(): SessionState {
    return this.#state.state;
  }

  get instanceUrl(): string {
    return this.#instanceUrl;
  }

  get egress(): SalesforceEgress {
    return this.opts.egress;
  }

  /** The current access token, obtaining one first if there is none. */
  async token(): Promise<string> {
    return this.#accessToken ?? this.refresh(undefined);
  }

  /**
   * Refreshes unless someone already replaced `stale`: callers pass the token
   * that failed, so N callers failing on one expired token cause one refresh.
   */
  refresh(stale: string | undefined): Promise<string> {
    if (this.#state.state === 'needs_reauth') {
      return Promise.reject(new ReauthRequiredError(`connection ${this.connectionId} needs re-authorization`));
    }
    if (this.#state.state === 'closed') return Promise.reject(new ReauthRequiredError('session closed'));
    if (this.#accessToken !== undefined && this.#accessToken !== stale) return Promise.resolve(this.#accessToken);
    this.#inflight ??= this.#doRefresh().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #doRefresh(): Promise<string> {
    this.#state.to('refreshing');
    try {
      const res = await this.#newToken();
      if (this.#state.state === 'closed') return res.accessToken;
      this.#accessToken = res.accessToken;
      const moved = res.instanceUrl !== this.#instanceUrl;
      if (moved) this.#movedAt = Date.now();
      if (moved)
        this.opts.logger.warn(
          { connectionId: this.connectionId, orgId: this.orgId, from: this.#instanceUrl, to: res.instanceUrl },
          'the org answers from a new instance URL',
        );
      this.#instanceUrl = res.instanceUrl;
      if (this.#conn) {
        this.#conn.accessToken = res.accessToken;
        this.#conn.instanceUrl = res.instanceUrl;
      }
      this.#state.to('active');
      this.opts.logger.info({ connectionId: this.connectionId, orgId: this.orgId }, 'access token refreshed');
      if (moved) this.opts.onInstanceUrl?.(res.instanceUrl);
      for (const l of this.#listeners) l(res.accessToken);
      return res.accessToken;
    } catch (err) {
      if (this.#state.state === 'closed') throw err;
      if (isReauthRequired(err)) {
        this.#state.to('needs_reauth');
        // The connection's own line ('connection needs re-authorization') is written once, where its stored status changes;
        // every session of the org (the follower's, the workflows') meets the refusal on its own.
        this.opts.logger.debug(
          { connectionId: this.connectionId, orgId: this.orgId, reason: err.message },
          'session refused by the org: re-authorization needed',
        );
        this.opts.onReauthRequired?.(err.message);
      } else {
        this.#state.to(this.#accessToken ? 'active' : 'idle');
      }
      throw err;
    }
  }

  async #newToken(): Promise<SessionToken> {
    const opts = this.opts;
    if ('tokens' in opts) return opts.tokens.refresh(this.#accessToken);
    const res = await refreshAccessToken(opts.oauth, this.#refreshToken!, opts.egress);
    if (res.refresh_token) this.#refreshToken = res.refresh_token;
    return { accessToken: res.access_token, instanceUrl: res.instance_url };
  }

  onTokenRefreshed(listener: (token: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A jsforce Connection sharing this session's token: jsforce refreshes on
   * INVALID_SESSION_ID through `refreshFn`, which lands in the single flight.
   */
  jsforce(): Connection {
    if (!this.#conn) {
      const conn = guardConnection(
        new Connection({
          instanceUrl: this.#instanceUrl,
          version: API_VERSION,
          ...(this.#accessToken ? { accessToken: this.#accessToken } : {}),
          refreshFn: (c, callback) => {
            if (c.accessToken === this.#accessToken && Date.now() - this.#movedAt < MOVED_MS) {
              // The request fails instead; its caller retries it, built on the new instance URL.
              callback(new TransientError('SALESFORCE_AUTH', `the org moved to ${this.#instanceUrl}; a request made for its old instance is retried there`));
              return;
            }
            this.refresh(c.accessToken ?? undefined).then(
              (token) => callback(null, token),
              (err: unknown) => callback(err as Error),
            );
          },
        }),
        this.opts.egress,
      );
      this.#conn = conn;
    }
    return this.#conn;
  }

  /** The org's API usage as Salesforce last reported it (Sforce-Limit-Info). */
  apiUsage(): { used: number; limit: number } | undefined {
    return this.#conn?.limitInfo?.apiUsage;
  }

  close(): void {
    if (this.#state.state !== 'closed') this.#state.to('closed');
    this.#listeners.clear();
  }
}
