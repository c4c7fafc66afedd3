/**
 * OAuth grants of every org in the process: access tokens, refresh tokens and
 * authorization codes, looked up by their opaque string. Expiry follows the
 * emulator clock; expired entries are dropped when their org next gets a token.
 *
 * An access token is a session: it lapses after its timeout *without use*, and
 * every use (a REST call, a CometD handshake, connect or subscribe) restarts
 * that timeout. A refresh token may have an idle limit (it lapses when not used
 * for that long) and, with rotation, is retired by its first use: it keeps
 * working for `ROTATION_GRACE_MS` more, then answers `invalid_grant`.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';

export interface AccessGrant {
  orgId: string;
  userId: string;
  /** Inactivity timeout of the session: `expiresAt` moves to now + this on every use. */
  timeoutMs: number;
  expiresAt: number;
  /** The authorization (refresh token and its rotated successors) it was issued from, if any. */
  family?: string;
}

export interface RefreshGrant {
  orgId: string;
  userId: string;
  clientId: string;
  lastUsedAt: number;
  /** Lapses when not used for this long (the app's "expire refresh token if not used for"). */
  idleMs?: number;
  /** Set by its first use under rotation: a successor was issued. */
  retiredAt?: number;
  /** One authorization: a refresh token and its rotated successors share it, and so do the access tokens issued from them. */
  family: string;
}

export interface RefreshPolicy {
  idleMs?: number;
}

/**
 * How long a rotated refresh token still works. Salesforce documents that the
 * previous token "is automatically invalidated" and gives no figure; a short
 * window is assumed so that a client whose answer was lost in transit can retry
 * once. Clients must not rely on it: store the new token before using it.
 */
export const ROTATION_GRACE_MS = 30_000;

export interface AuthCode {
  orgId: string;
  userId: string;
  clientId: string;
  redirectUri: string;
  /** PKCE (S256), when the authorize request carried one. */
  codeChallenge?: string;
  expiresAt: number;
}

/** Salesforce authorization codes are valid for 15 minutes. */
const CODE_TTL_MS = 15 * 60 * 1000;

export class TokenStore {
  private readonly access = new Map<string, AccessGrant>();
  private readonly refresh = new Map<string, RefreshGrant>();
  private readonly codes = new Map<string, AuthCode>();
  private readonly accessByOrg = new Map<string, Set<string>>();
  private readonly refreshByOrg = new Map<string, Set<string>>();

  constructor(
    private readonly clock: Clock,
    readonly accessTokenTtlMs: number,
  ) {}

  /** `<15-char org id>!<opaque>`, the shape of real access tokens. */
  issueAccess(orgId: string, userId: string, timeoutMs = this.accessTokenTtlMs, family?: string): string {
    const token = `${orgId.slice(0, 15)}!${randomBytes(72).toString('base64url').replace(/-/g, '.')}`;
    const now = this.clock.now();
    let set = this.accessByOrg.get(orgId);
    if (!set) {
      set = new Set();
      this.accessByOrg.set(orgId, set);
    }
    for (const t of set) {
      const g = this.access.get(t);
      if (!g || g.expiresAt <= now) {
        set.delete(t);
        this.access.delete(t);
      }
    }
    set.add(token);
    this.access.set(token, { orgId, userId, timeoutMs, expiresAt: now + timeoutMs, ...(family ? { family } : {}) });
    return token;
  }

  /** A live session, which this use extends. */
  validateAccess(token: string | undefined): AccessGrant | undefined {
    if (!token) return undefined;
    const g = this.access.get(token);
    const now = this.clock.now();
    if (!g || g.expiresAt <= now) return undefined;
    g.expiresAt = now + g.timeoutMs;
    return g;
  }

  /**
   * A connected streaming client's session: Salesforce keeps extending it while
   * the client is connected, so a connect held across a jump of the emulator
   * clock still counts as continuous use. Expired (fault) or revoked sessions
   * are gone from the map and stay gone.
   */
  keepAlive(token: string | undefined): void {
    const g = token ? this.access.get(token) : undefined;
    if (g) g.expiresAt = this.clock.now() + g.timeoutMs;
  }

  issueRefresh(orgId: string, userId: string, clientId: string, policy: RefreshPolicy = {}, family = randomBytes(9).toString('base64url')): string {
    const token = `5Aep861${randomBytes(60).toString('base64url').replace(/-/g, '.')}`;
    this.refresh.set(token, { orgId, userId, clientId, lastUsedAt: this.clock.now(), family, ...(policy.idleMs ? { idleMs: policy.idleMs } : {}) });
    let set = this.refreshByOrg.get(orgId);
    if (!set) {
      set = new Set();
      this.refreshByOrg.set(orgId, set);
    }
    set.add(token);
    return token;
  }

  /**
   * Uses a refresh token: undefined when it is unknown, idle past its limit or
   * retired past the grace. A use resets its idle clock.
   */
  useRefresh(token: string | undefined): RefreshGrant | undefined {
    const g = token ? this.refresh.get(token) : undefined;
    if (!g) return undefined;
    const now = this.clock.now();
    const idle = g.idleMs !== undefined && now - g.lastUsedAt >= g.idleMs;
    const retired = g.retiredAt !== undefined && now - g.retiredAt >= ROTATION_GRACE_MS;
    if (idle || retired) {
      this.refresh.delete(token!);
      this.refreshByOrg.get(g.orgId)?.delete(token!);
      return undefined;
    }
    g.lastUsedAt = now;
    return g;
  }

  /** Rotation: retires `token` (its grace starts at its first use) and issues its successor. */
  rotate(token: string, g: RefreshGrant): string {
    g.retiredAt ??= this.clock.now();
    return this.issueRefresh(g.orgId, g.userId, g.clientId, g.idleMs ? { idleMs: g.idleMs } : {}, g.family);
  }

  /** The authorization a live refresh token belongs to. */
  familyOf(token: string): string | undefined {
    return this.refresh.get(token)?.family;
  }

  issueCode(code: Omit<AuthCode, 'expiresAt'>): string {
    const value = `aPrx${randomBytes(36).toString('base64')}`;
    this.codes.set(value, { ...code, expiresAt: this.clock.now() + CODE_TTL_MS });
    return value;
  }

  /** Codes are single-use. */
  takeCode(value: string | undefined): AuthCode | undefined {
    if (!value) return undefined;
    const c = this.codes.get(value);
    this.codes.delete(value);
    if (!c || c.expiresAt <= this.clock.now()) return undefined;
    return c;
  }

  /**
   * Revoking a refresh token ends the authorization: the token, the refresh
   * tokens of its rotation chain and every access token issued from them.
   */
  revoke(token: string): boolean {
    const r = this.refresh.get(token);
    if (r) {
      for (const t of [...(this.refreshByOrg.get(r.orgId) ?? [])]) {
        if (this.refresh.get(t)?.family !== r.family) continue;
        this.refresh.delete(t);
        this.refreshByOrg.get(r.orgId)?.delete(t);
      }
      for (const t of [...(this.accessByOrg.get(r.orgId) ?? [])]) {
        if (this.access.get(t)?.family !== r.family) continue;
        this.access.delete(t);
        this.accessByOrg.get(r.orgId)?.delete(t);
      }
      return true;
    }
    const a = this.access.get(token);
    if (a) {
      this.access.delete(token);
      this.accessByOrg.get(a.orgId)?.delete(token);
      return true;
    }
    return false;
  }

  expireAccessTokens(orgId: string): number {
    const set = this.accessByOrg.get(orgId);
    if (!set) return 0;
    const n = set.size;
    for (const t of set) this.access.delete(t);
    set.clear();
    return n;
  }

  /** Revoking the app's refresh tokens revokes the sessions issued from them too. */
  revokeRefreshTokens(orgId: string): number {
    const set = this.refreshByOrg.get(orgId);
    const n = set?.size ?? 0;
    if (set) for (const t of set) this.refresh.delete(t);
    set?.clear();
    this.expireAccessTokens(orgId);
    return n;
  }

  forgetOrg(orgId: string): void {
    this.revokeRefreshTokens(orgId);
    this.accessByOrg.delete(orgId);
    this.refreshByOrg.delete(orgId);
  }
}
