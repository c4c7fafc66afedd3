/**
 * OAuth grants of every org in the process: access tokens, refresh tokens and
 * authorization codes, looked up by their opaque string. Expiry follows the
 * emulator clock; expired entries are dropped when their org next gets a token.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';

export interface AccessGrant {
  orgId: string;
  userId: string;
  expiresAt: number;
}

export interface RefreshGrant {
  orgId: string;
  userId: string;
  clientId: string;
}

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

  /** `<15-char org id>!<opaque>`, the shape of real access tokens (reference §4.1). */
  issueAccess(orgId: string, userId: string): string {
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
    this.access.set(token, { orgId, userId, expiresAt: now + this.accessTokenTtlMs });
    return token;
  }

  validateAccess(token: string | undefined): AccessGrant | undefined {
    if (!token) return undefined;
    const g = this.access.get(token);
    if (!g || g.expiresAt <= this.clock.now()) return undefined;
    return g;
  }

  issueRefresh(orgId: string, userId: string, clientId: string): string {
    const token = `5Aep861${randomBytes(60).toString('base64url').replace(/-/g, '.')}`;
    this.refresh.set(token, { orgId, userId, clientId });
    let set = this.refreshByOrg.get(orgId);
    if (!set) {
      set = new Set();
      this.refreshByOrg.set(orgId, set);
    }
    set.add(token);
    return token;
  }

  validateRefresh(token: string | undefined): RefreshGrant | undefined {
    return token ? this.refresh.get(token) : undefined;
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

  revoke(token: string): boolean {
    const r = this.refresh.get(token);
    if (r) {
      this.refresh.delete(token);
      this.refreshByOrg.get(r.orgId)?.delete(token);
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
