/**
 * The process-wide state of an emulator: its clock, its orgs and their OAuth
 * grants. Everything else (routes, streaming, activity) hangs off this.
 */
import type { Logger } from '../core/log.js';
import { Clock } from './clock.js';
import { normalizeId } from './ids.js';
import { Org, type OrgOptions } from './org.js';
import { TokenStore } from './tokens.js';

export interface OrgCredentials {
  orgId: string;
  loginUrl: string;
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  refreshToken: string;
}

export const DEFAULT_ACCESS_TOKEN_TTL_MS = 2 * 3600 * 1000;

export class Emulator {
  readonly clock = new Clock();
  readonly tokens: TokenStore;
  private readonly orgs = new Map<string, Org>();
  private readonly byClientId = new Map<string, Org>();
  private readonly byUsername = new Map<string, Org>();
  /** Set once the HTTP server listens: one host is both login and instance URL. */
  baseUrl = 'http://127.0.0.1';
  /** Called after grants were revoked, so live streaming clients can be told (401::Authentication invalid). */
  onRevoked: () => void = () => {};
  /** Set by the HTTP server: serves the same app on one more port (0 = any) and answers its base URL. */
  listenAlso: (port: number) => Promise<string> = () => Promise.reject(new Error('the emulator is not serving HTTP'));

  constructor(
    readonly logger: Logger,
    accessTokenTtlMs = DEFAULT_ACCESS_TOKEN_TTL_MS,
  ) {
    this.tokens = new TokenStore(this.clock, accessTokenTtlMs);
  }

  createOrg(opts: OrgOptions = {}): { org: Org; credentials: OrgCredentials } {
    const org = new Org(this.clock, opts);
    this.orgs.set(org.id, org);
    this.byClientId.set(org.clientId, org);
    this.byUsername.set(org.user.username.toLowerCase(), org);
    const refreshToken = this.issueRefresh(org, org.user.id);
    return {
      org,
      credentials: {
        orgId: org.id,
        loginUrl: this.baseUrl,
        instanceUrl: this.instanceUrlOf(org),
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        username: org.user.username,
        password: org.user.password,
        refreshToken,
      },
    };
  }

  /** A refresh token of `clientId` (the org's own app unless given) under the org's app policy (idle limit). */
  issueRefresh(org: Org, userId: string, clientId = org.clientId): string {
    return this.tokens.issueRefresh(org.id, userId, clientId, org.oauth.refreshTokenIdleMs ? { idleMs: org.oauth.refreshTokenIdleMs } : {});
  }

  /** Another OAuth app of the org (an External Client App), found by its client id like the org's own. */
  addApp(org: Org, installed: boolean): { clientId: string; clientSecret: string; installed: boolean } {
    const app = org.addApp(installed);
    this.byClientId.set(app.clientId, org);
    return { ...app };
  }

  /** An access token whose session times out as the org's app policy says. */
  issueAccess(org: Org, userId: string, family?: string): string {
    return this.tokens.issueAccess(org.id, userId, org.oauth.sessionTimeoutMs, family);
  }

  /** The org's instance URL: the emulator's own until the org moves. */
  instanceUrlOf(org: Org): string {
    return org.instanceUrl ?? this.baseUrl;
  }

  /**
   * Whether the org answers API calls arriving for `host` (the request's Host header). A moved
   * org answers only at its new instance; the old one refuses its sessions as invalid.
   */
  servesAt(org: Org, host: string | undefined): boolean {
    return org.instanceUrl === undefined || (host !== undefined && new URL(org.instanceUrl).host === host.toLowerCase());
  }

  /** Accepts the 15- or 18-character org id. */
  org(id: string): Org | undefined {
    const full = normalizeId(id) ?? id;
    return this.orgs.get(full);
  }

  orgByClientId(clientId: string | undefined): Org | undefined {
    return clientId ? this.byClientId.get(clientId) : undefined;
  }

  orgByUsername(username: string | undefined): Org | undefined {
    return username ? this.byUsername.get(username.toLowerCase()) : undefined;
  }

  allOrgs(): IterableIterator<Org> {
    return this.orgs.values();
  }

  deleteOrg(id: string): boolean {
    const org = this.org(id);
    if (!org) return false;
    this.orgs.delete(org.id);
    for (const clientId of org.apps.keys()) this.byClientId.delete(clientId);
    this.byUsername.delete(org.user.username.toLowerCase());
    this.tokens.forgetOrg(org.id);
    return true;
  }
}
