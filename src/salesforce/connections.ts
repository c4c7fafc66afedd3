import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/log.js';
import { ForcehookError, NotFoundError, TerminalError } from '../core/errors.js';
import type { SecretBox } from '../core/secrets.js';
import { toId18 } from '../events/salesforce-id.js';
import { assertAllowedUrl } from '../net/egress.js';
import { snippet, type SalesforceEgress } from '../net/salesforce-egress.js';
import { sealedPlace, type ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { confirmIdentity, refreshAccessToken, revokeToken, type OAuthClient, type TokenResponse } from './oauth.js';

export type CdcTransportKind = NonNullable<ConnectionRecord['cdcTransport']>;

export interface ConnectionGrant extends OAuthClient {
  refreshToken: string;
  /** A token response already in hand (the OAuth callback has one). */
  token?: TokenResponse;
  /** How this org's CDC is followed, when not the service's default. */
  cdcTransport?: CdcTransportKind;
}

/** A new grant for a connection that exists: what is not given is kept from it. */
export interface Reauthorization {
  refreshToken: string;
  clientId?: string;
  clientSecret?: string;
  /** Only from a connect session, which names its own login URL; held to the same host rules. */
  loginUrl?: string;
  token?: TokenResponse;
}

export interface ConnectionServiceDeps {
  store: ServiceStore;
  box: SecretBox;
  /** Every call to Salesforce goes through it; its hosts decide where credentials may go. */
  egress: SalesforceEgress;
  logger: Logger;
  now?: () => Date;
}

interface Verified {
  token: TokenResponse;
  orgId: string;
  userId: string;
}

/** Connecting an org: validate the grant against Salesforce, prove whose org it is, then store it sealed. */
export class ConnectionService {
  /** Orgs being connected on this instance: a second request for one meanwhile is a conflict, not a race. */
  readonly #connecting = new Set<string>();
  /** Connections whose needs_reauth is being written: the follower and the workflows' session often report it at once. */
  readonly #markingReauth = new Set<string>();

  constructor(private readonly deps: ConnectionServiceDeps) {}

  /**
   * Connects an org that has no connection yet. The grant is validated by using it (a
   * refresh), so a typo is a 400 now rather than a dead subscriber later; that refresh is
   * a real one: if the org rotates refresh tokens, the token given is spent and the one
   * answered is stored in its place. The org is the one the identity URL confirms for the
   * token, never only what the token endpoint claims. An org that already has a connection
   * answers 409 with its id: credentials are replaced only through `reauthorize`.
   */
  async connect(grant: ConnectionGrant): Promise<ConnectionRecord> {
    const v = await this.#verify(grant);
    const existing = this.deps.store.connections().find((c) => c.orgId === v.orgId);
    if (existing || this.#connecting.has(v.orgId)) {
      const connectionId = existing?.id;
      throw new ForcehookError(
        'CONFLICT',
        `org ${v.orgId} is already connected${connectionId ? ` (connection ${connectionId})` : ''}; re-authorize that connection instead (PUT /v1/connections/{id}/credentials)`,
        {
          status: 409,
          ...(connectionId ? { details: { connectionId } } : {}),
        },
      );
    }
    this.#connecting.add(v.orgId);
    try {
      const now = (this.deps.now?.() ?? new Date()).toISOString();
      const record = this.#record(grant, v, { id: randomUUID(), createdAt: now, cdcTransport: grant.cdcTransport }, now);
      await this.deps.store.putConnection(record);
      this.deps.logger.info({ connectionId: record.id, orgId: v.orgId }, 'connection stored');
      return record;
    } finally {
      this.#connecting.delete(v.orgId);
    }
  }

  /**
   * Re-authorizes connection `id` with a new grant (a connection in `needs_reauth`, or new app
   * credentials). Refused with 409 when the identity URL confirms the token for another org.
   */
  async reauthorize(id: string, grant: Reauthorization): Promise<ConnectionRecord> {
    const c = this.deps.store.connection(id);
    if (!c) throw new NotFoundError(`connection ${id} not found`);
    const full: ConnectionGrant = {
      loginUrl: grant.loginUrl ?? c.loginUrl,
      clientId: grant.clientId ?? c.clientId,
      clientSecret: grant.clientSecret ?? this.deps.box.open(c.clientSecret, sealedPlace.connection(c.id, 'clientSecret')),
      refreshToken: grant.refreshToken,
      ...(grant.token ? { token: grant.token } : {}),
    };
    const v = await this.#verify(full);
    if (v.orgId !== c.orgId) {
      throw new ForcehookError('CONFLICT', `the token belongs to org ${v.orgId}, not to org ${c.orgId} of connection ${id}`, {
        status: 409,
        details: { reason: 'org_mismatch', connectionId: id, orgId: c.orgId, tokenOrgId: v.orgId },
      });
    }
    const latest = this.deps.store.connection(id);
    if (!latest) throw new NotFoundError(`connection ${id} was removed`);
    const now = (this.deps.now?.() ?? new Date()).toISOString();
    const record = this.#record(full, v, { id, createdAt: latest.createdAt, cdcTransport: latest.cdcTransport }, now);
    await this.deps.store.putConnection(record);
    this.deps.logger.info({ connectionId: id, orgId: v.orgId }, 'connection re-authorized');
    return record;
  }

  /** Uses the grant once and proves whose org and user it belongs to. */
  async #verify(grant: ConnectionGrant): Promise<Verified> {
    const { egress } = this.deps;
    egress.hosts.check(grant.loginUrl, 'loginUrl');
    // Fast feedback on an address the connect-time guard would refuse anyway.
    await assertAllowedUrl(grant.loginUrl, { allowPrivate: egress.allowPrivate, field: 'loginUrl' });
    const token = grant.token ?? (await refreshAccessToken(grant, grant.refreshToken, egress));
    await assertAllowedUrl(token.instance_url, { allowPrivate: egress.allowPrivate, field: 'instanceUrl (reported by the org)' });
    const confirmed = await confirmIdentity(token, egress);
    const orgId = toId18(confirmed.orgId);
    if (!orgId) throw new TerminalError('SALESFORCE_AUTH', `org id '${snippet(confirmed.orgId, 40)}' is not a Salesforce id`, { status: 400 });
    return { token, orgId, userId: toId18(confirmed.userId) ?? confirmed.userId };
  }

  #record(
    grant: ConnectionGrant,
    v: Verified,
    keep: { id: string; createdAt: string; cdcTransport: CdcTransportKind | undefined },
    now: string,
  ): ConnectionRecord {
    const { box } = this.deps;
    const id = keep.id;
    return {
      id,
      orgId: v.orgId,
      userId: v.userId,
      loginUrl: new URL(grant.loginUrl).origin,
      instanceUrl: v.token.instance_url,
      clientId: grant.clientId,
      clientSecret: box.seal(grant.clientSecret, sealedPlace.connection(id, 'clientSecret')),
      // The token endpoint's answer wins: under rotation the one given was just spent.
      refreshToken: box.seal(v.token.refresh_token ?? grant.refreshToken, sealedPlace.connection(id, 'refreshToken')),
      accessToken: box.seal(v.token.access_token, sealedPlace.connection(id, 'accessToken')),
      tokenRefreshedAt: now,
      grantId: randomUUID(),
      ...(keep.cdcTransport ? { cdcTransport: keep.cdcTransport } : {}),
      status: 'active',
      createdAt: keep.createdAt,
      updatedAt: now,
    };
  }

  /** The org moved: later sessions (a restart, another instance, workflows) start from its new instance URL. */
  async updateInstanceUrl(id: string, instanceUrl: string): Promise<void> {
    const c = this.deps.store.connection(id);
    if (!c || c.instanceUrl === instanceUrl) return;
    this.deps.egress.hosts.check(instanceUrl, 'instanceUrl (reported by the org)');
    await assertAllowedUrl(instanceUrl, { allowPrivate: this.deps.egress.allowPrivate, field: 'instanceUrl (reported by the org)' });
    await this.deps.store.putConnection({ ...c, instanceUrl, updatedAt: (this.deps.now?.() ?? new Date()).toISOString() });
    this.deps.logger.info({ connectionId: id, orgId: c.orgId, from: c.instanceUrl, to: instanceUrl }, 'connection instance URL updated');
  }

  /** Sets (or with null clears: the service default) how the org's CDC is followed; a running subscriber restarts on it. */
  async setCdcTransport(id: string, cdcTransport: CdcTransportKind | null): Promise<ConnectionRecord> {
    const c = this.deps.store.connection(id);
    if (!c) throw new NotFoundError(`connection ${id} not found`);
    const { cdcTransport: _old, ...rest } = c;
    const record: ConnectionRecord = {
      ...rest,
      ...(cdcTransport ? { cdcTransport } : {}),
      updatedAt: (this.deps.now?.() ?? new Date()).toISOString(),
    };
    await this.deps.store.putConnection(record);
    return record;
  }

  async markNeedsReauth(id: string, reason: string): Promise<void> {
    const c = this.deps.store.connection(id);
    if (!c || c.status === 'needs_reauth' || this.#markingReauth.has(id)) return;
    this.#markingReauth.add(id);
    try {
      await this.deps.store.putConnection({ ...c, status: 'needs_reauth', statusReason: reason, updatedAt: (this.deps.now?.() ?? new Date()).toISOString() });
    } finally {
      this.#markingReauth.delete(id);
    }
    this.deps.logger.warn({ connectionId: id, orgId: c.orgId, reason }, 'connection needs re-authorization');
  }

  /**
   * Removes the connection, its subscriptions and its checkpoints, then revokes its
   * refresh token at Salesforce, so that a copy of it (a backup of the state topic,
   * a leaked log) is worth nothing either. The revocation is best effort: the org
   * may be unreachable or the grant already gone, and the connection is deleted
   * all the same (a warning says so; an admin can revoke the app's access in Setup).
   */
  async remove(id: string): Promise<void> {
    const c = this.deps.store.connection(id);
    if (!c) throw new NotFoundError(`connection ${id} not found`);
    for (const s of this.deps.store.subscriptions(id)) await this.deps.store.deleteSubscription(s.id);
    for (const m of this.deps.store.mappings(id)) await this.deps.store.deleteMapping(id, m.name);
    await this.deps.store.deleteConnection(id);
    await this.deps.store.deleteCheckpoints(id);
    if (this.deps.store.tokenRequest(id)) await this.deps.store.deleteTokenRequest(id);
    try {
      const refreshToken = this.deps.box.open(c.refreshToken, sealedPlace.connection(c.id, 'refreshToken'));
      await revokeToken(c, refreshToken, this.deps.egress);
      this.deps.logger.info({ connectionId: id, orgId: c.orgId }, 'refresh token revoked at Salesforce');
    } catch (err) {
      this.deps.logger.warn({ connectionId: id, orgId: c.orgId, err: (err as Error).message }, 'could not revoke the refresh token of a deleted connection');
    }
  }

  /** The grant, unsealed: only for talking to Salesforce. */
  credentials(c: ConnectionRecord): { oauth: OAuthClient; refreshToken: string } {
    return {
      oauth: { loginUrl: c.loginUrl, clientId: c.clientId, clientSecret: this.deps.box.open(c.clientSecret, sealedPlace.connection(c.id, 'clientSecret')) },
      refreshToken: this.deps.box.open(c.refreshToken, sealedPlace.connection(c.id, 'refreshToken')),
    };
  }
}
