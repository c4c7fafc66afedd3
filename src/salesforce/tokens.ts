import { createHash } from 'node:crypto';
import { NotFoundError, TransientError, isReauthRequired } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { retry, retryPolicy } from '../core/retry.js';
import type { SecretBox } from '../core/secrets.js';
import type { SalesforceEgress } from '../net/salesforce-egress.js';
import { grantOf, sealedPlace, type ConnectionRecord } from '../state/records.js';
import { hasStaleSeals, resealConnection, resealSubscription } from '../state/reseal.js';
import type { ServiceStore } from '../state/store.js';
import { ReauthRequiredError, refreshAccessToken } from './oauth.js';

export interface SessionToken {
  accessToken: string;
  instanceUrl: string;
}

/** Where an org session gets its access token from (OrgSession's view of the keeper). */
export interface TokenSource {
  /** The access token on record, if any. */
  current(): SessionToken | undefined;
  /** An access token other than `stale` (the one that stopped working). */
  refresh(stale: string | undefined): Promise<SessionToken>;
}

export interface TokenKeeperOptions {
  store: ServiceStore;
  box: SecretBox;
  logger: Logger;
  egress: SalesforceEgress;
  /** Whether this instance owns the org (scale-out): only the owner refreshes. */
  owns(connectionId: string): boolean;
  /** Refresh every owned connection at least this often (FORCEHOOK_TOKEN_REFRESH_INTERVAL_S). */
  intervalMs: number;
  /** How long a non-owner waits for the owner's new token. @default 30000 */
  askTimeoutMs?: number;
  /** A refresh was refused for good: the connection needs a person. */
  onReauthRequired(connectionId: string, reason: string): void;
  now?: () => number;
}

/** Identifies a token in the shared state without revealing it. */
export function fingerprint(token: string | undefined): string {
  return token === undefined ? 'none' : createHash('sha256').update(token).digest('base64url').slice(0, 22);
}

/** A request older than this is not answered any more: its asker gave up long ago. */
const REQUEST_TTL_MS = 5 * 60_000;

/**
 * Keeps every connection's OAuth tokens, for all instances, through the state topic.
 *
 * An org may rotate refresh tokens: each refresh answers a new one and the used one
 * stops working shortly after. So a refresh token may be used by one party at a time,
 * and the new one must be on record before anything relies on the refresh:
 * - only the instance that owns the org (source/ownership.ts) refreshes, one refresh
 *   at a time per org, and stores the new refresh token and access token (sealed)
 *   durably before handing the access token to anyone;
 * - every other instance (a workflow step, an API check) uses the access token on
 *   record; when that stops working it writes a token request to the state topic,
 *   the owner refreshes, and the asker picks the new token up from the record. With
 *   no owner answering in time the asker fails retriably (a workflow is retried on
 *   its schedule).
 * The owner also refreshes each connection at least every `intervalMs`, needed or
 * not: an org whose healthy stream never needs a new session would otherwise let an
 * idle-limited refresh token lapse.
 */
export class TokenKeeper {
  readonly #o: TokenKeeperOptions;
  readonly #log: Logger;
  readonly #inflight = new Map<string, Promise<SessionToken>>();
  /** The last write to each org's record that this instance started: refreshes and re-seals run one after the other. */
  readonly #tail = new Map<string, Promise<unknown>>();
  /** When a re-seal of each org's sealed values last started: one whose key is missing is not retried every tick. */
  readonly #lastReseal = new Map<string, number>();
  #lastResealSweep = -Infinity;
  /** When a background refresh of each org last started: a failing one is not retried every tick. */
  readonly #lastTry = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;
  #stopped = false;

  constructor(opts: TokenKeeperOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'tokens' });
  }

  start(): void {
    this.#unlisten = this.#o.store.onTokenRequest(() => this.#answerRequests());
    // Often enough for short intervals (tests), rarely enough to cost nothing: a tick only reads memory.
    const tick = Math.max(200, Math.min(5_000, Math.floor(this.#o.intervalMs / 2)));
    this.#timer = setInterval(() => this.#tick(), tick).unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#unlisten?.();
  }

  source(connectionId: string): TokenSource {
    return {
      current: () => {
        const c = this.#o.store.connection(connectionId);
        const accessToken = c && this.#accessOf(c);
        return c && accessToken ? { accessToken, instanceUrl: c.instanceUrl } : undefined;
      },
      refresh: (stale) => this.refresh(connectionId, stale),
    };
  }

  /** An access token other than `stale`: the one on record, a new one if this instance owns the org, else the owner's. */
  async refresh(connectionId: string, stale: string | undefined): Promise<SessionToken> {
    const c = this.#connection(connectionId);
    const onRecord = this.#accessOf(c);
    if (onRecord !== undefined && onRecord !== stale) return { accessToken: onRecord, instanceUrl: c.instanceUrl };
    if (this.#o.owns(connectionId)) return this.#refreshHere(connectionId);
    return this.#askOwner(connectionId, stale ?? onRecord);
  }

  #connection(connectionId: string): ConnectionRecord {
    const c = this.#o.store.connection(connectionId);
    if (!c) throw new NotFoundError(`connection ${connectionId} not found`);
    if (c.status === 'needs_reauth') throw new ReauthRequiredError(`connection ${connectionId} needs re-authorization`);
    return c;
  }

  #accessOf(c: ConnectionRecord): string | undefined {
    return c.accessToken ? this.#o.box.open(c.accessToken, sealedPlace.connection(c.id, 'accessToken')) : undefined;
  }

  /** One refresh at a time per org on this instance; callers during one share its result. */
  #refreshHere(connectionId: string): Promise<SessionToken> {
    let p = this.#inflight.get(connectionId);
    if (!p) {
      p = this.#serially(connectionId, () => this.#doRefresh(connectionId)).finally(() => this.#inflight.delete(connectionId));
      this.#inflight.set(connectionId, p);
    }
    return p;
  }

  async #doRefresh(connectionId: string): Promise<SessionToken> {
    const c = this.#connection(connectionId);
    const grant = grantOf(c);
    const oauth = { loginUrl: c.loginUrl, clientId: c.clientId, clientSecret: this.#o.box.open(c.clientSecret, sealedPlace.connection(c.id, 'clientSecret')) };
    let res;
    try {
      res = await refreshAccessToken(oauth, this.#o.box.open(c.refreshToken, sealedPlace.connection(c.id, 'refreshToken')), this.#o.egress);
    } catch (err) {
      if (isReauthRequired(err) && grantOf(this.#o.store.connection(connectionId) ?? c) === grant) {
        this.#o.onReauthRequired(connectionId, err.message);
      }
      throw err;
    }
    const token = { accessToken: res.access_token, instanceUrl: res.instance_url };
    const latest = this.#o.store.connection(connectionId);
    if (!latest) throw new NotFoundError(`connection ${connectionId} was removed`);
    if (grantOf(latest) !== grant) {
      // Re-authorized meanwhile: the new grant's tokens are on record and win.
      return this.#connectionToken(latest) ?? token;
    }
    const now = new Date(this.#o.now?.() ?? Date.now()).toISOString();
    const next: ConnectionRecord = {
      ...latest,
      // Without rotation Salesforce answers no refresh token: the one on record stays valid.
      refreshToken: res.refresh_token ? this.#o.box.seal(res.refresh_token, sealedPlace.connection(latest.id, 'refreshToken')) : latest.refreshToken,
      accessToken: this.#o.box.seal(res.access_token, sealedPlace.connection(latest.id, 'accessToken')),
      instanceUrl: res.instance_url,
      tokenRefreshedAt: now,
    };
    // Durable before use: a rotated refresh token lives only in `next` now, and the one on record stops working.
    await retry(retryPolicy({ maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 2_000 }), () => this.#o.store.putConnection(next));
    this.#log.info({ connectionId, orgId: c.orgId, rotated: res.refresh_token !== undefined }, 'tokens refreshed and stored');
    return token;
  }

  /**
   * Runs `fn` after every earlier refresh or re-seal of the org on this instance. A
   * re-seal rewrites the record it read: run beside a refresh, it could put back the
   * refresh token that the refresh just spent.
   */
  #serially<T>(connectionId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#tail.get(connectionId) ?? Promise.resolve();
    const p = before.catch(() => undefined).then(fn);
    const tail = p.catch(() => undefined);
    this.#tail.set(connectionId, tail);
    void tail.then(() => {
      if (this.#tail.get(connectionId) === tail) this.#tail.delete(connectionId);
    });
    return p;
  }

  /**
   * Seals again, under the current key and bound to their place, the values of an
   * owned org that are not (after FORCEHOOK_SECRET_KEY was rotated, or written by a
   * version that did not bind them): its connection record and its subscriptions'
   * webhook secrets. Only the owner does it, after its refreshes, so nothing it
   * writes undoes a rotated refresh token.
   */
  async #reseal(connectionId: string): Promise<void> {
    const c = this.#o.store.connection(connectionId);
    if (!c) return;
    const next = resealConnection(this.#o.box, c);
    if (next) await this.#o.store.putConnection(next);
    const now = this.#o.now?.() ?? Date.now();
    let subscriptions = 0;
    for (const s of this.#o.store.subscriptions(connectionId)) {
      const resealed = resealSubscription(this.#o.box, s, now);
      // Rewritten by the API meanwhile (a rotated secret): that write is newer, and sealed with the current key.
      if (resealed && this.#o.store.subscription(s.id) === s) {
        await this.#o.store.putSubscription(resealed);
        subscriptions++;
      }
    }
    if (next || subscriptions > 0)
      this.#log.info({ connectionId, connection: next !== undefined, subscriptions }, 'sealed values re-sealed under the current key');
  }

  /**
   * Re-seals what needs it in every org this instance owns (each org at most once a
   * minute, so a value whose key is gone is not tried every tick). Runs on every tick;
   * resolves once the writes it started are durable.
   */
  async resealOwned(): Promise<void> {
    const now = this.#o.now?.() ?? Date.now();
    const started: Promise<void>[] = [];
    for (const c of this.#o.store.connections()) {
      if (!this.#o.owns(c.id) || now - (this.#lastReseal.get(c.id) ?? -Infinity) < 60_000 || !this.#needsReseal(c)) continue;
      this.#lastReseal.set(c.id, now);
      const p = this.#serially(c.id, () => this.#reseal(c.id)).catch((err: unknown) => {
        this.#log.warn({ connectionId: c.id, err: (err as Error).message }, 're-sealing stored secrets failed; tried again in a minute');
      });
      started.push(p);
    }
    await Promise.all(started);
  }

  #needsReseal(c: ConnectionRecord): boolean {
    const { box, store } = this.#o;
    return hasStaleSeals(box, c) || store.subscriptions(c.id).some((s) => hasStaleSeals(box, s));
  }

  #connectionToken(c: ConnectionRecord): SessionToken | undefined {
    const accessToken = this.#accessOf(c);
    return accessToken ? { accessToken, instanceUrl: c.instanceUrl } : undefined;
  }

  /** Asks the owner through the state topic and waits for its new token to be on record. */
  async #askOwner(connectionId: string, stale: string | undefined): Promise<SessionToken> {
    const timeoutMs = this.#o.askTimeoutMs ?? 30_000;
    const fresh = (): SessionToken | undefined => {
      const c = this.#connection(connectionId);
      const t = this.#connectionToken(c);
      return t && t.accessToken !== stale ? t : undefined;
    };
    let unlisten: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<SessionToken>((resolve, reject) => {
      const check = () => {
        try {
          const t = fresh();
          if (t) resolve(t);
        } catch (err) {
          reject(err as Error);
        }
      };
      unlisten = this.#o.store.onChange((ch) => {
        if (ch.kind === 'connection' && ch.id === connectionId) check();
      });
      timer = setTimeout(
        () =>
          reject(
            new TransientError(
              'SALESFORCE_AUTH',
              `connection ${connectionId}: the instance following this org did not renew its session within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      check();
    });
    try {
      await this.#o.store.putTokenRequest({ connectionId, stale: fingerprint(stale), requestedAt: new Date(this.#o.now?.() ?? Date.now()).toISOString() });
      this.#log.info({ connectionId }, 'asked the owning instance for a new access token');
      return await arrived;
    } finally {
      unlisten();
      clearTimeout(timer);
    }
  }

  /** The owner answers requests whose stale token is still the one on record. */
  #answerRequests(): void {
    if (this.#stopped) return;
    const now = this.#o.now?.() ?? Date.now();
    for (const c of this.#o.store.connections()) {
      if (c.status !== 'active' || !this.#o.owns(c.id)) continue;
      const r = this.#o.store.tokenRequest(c.id);
      if (!r || now - Date.parse(r.requestedAt) > REQUEST_TTL_MS) continue;
      if (r.stale !== fingerprint(this.#accessOf(c))) continue;
      this.#background(c.id, 'asked by another instance');
    }
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = this.#o.now?.() ?? Date.now();
    for (const c of this.#o.store.connections()) {
      if (c.status !== 'active' || !this.#o.owns(c.id)) continue;
      const at = c.tokenRefreshedAt ? Date.parse(c.tokenRefreshedAt) : 0;
      if (now - at >= this.#o.intervalMs) this.#background(c.id, 'scheduled');
    }
    // Re-sealing is needed after a key rotation, rarely: a look every half minute is soon enough.
    if (now - this.#lastResealSweep >= 30_000) {
      this.#lastResealSweep = now;
      void this.resealOwned();
    }
    // Requests made while no one owned the org (a handover) are answered once someone does.
    this.#answerRequests();
  }

  #background(connectionId: string, why: string): void {
    if (this.#inflight.has(connectionId)) return;
    const now = this.#o.now?.() ?? Date.now();
    if (why === 'scheduled' && now - (this.#lastTry.get(connectionId) ?? 0) < Math.min(this.#o.intervalMs, 60_000)) return;
    this.#lastTry.set(connectionId, now);
    this.#refreshHere(connectionId).catch((err: unknown) => {
      if (isReauthRequired(err)) return;
      this.#log.warn({ connectionId, why, err: (err as Error).message }, 'token refresh failed; retried on the next tick');
    });
  }
}
