import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Logger } from '../core/log.js';
import { NotFoundError, TerminalError } from '../core/errors.js';
import type { SecretBox } from '../core/secrets.js';
import { toId18 } from '../events/salesforce-id.js';
import { assertAllowedUrl } from '../net/egress.js';
import { sealedPlace, type ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { parseIdentityUrl, refreshAccessToken, revokeToken, type OAuthClient, type TokenResponse } from './oauth.js';

export interface ConnectionGrant extends OAuthClient {
  refreshToken: string;
  /** A token response already in hand (the OAuth callback has one). */
  token?: TokenResponse;
}

export interface ConnectionServiceDeps {
  store: ServiceStore;
  box: SecretBox;
  allowPrivateNetworks: boolean;
  dispatcher?: Dispatcher;
  logger: Logger;
  now?: () => Date;
}

/** Connecting an org: validate the grant against Salesforce, then store it sealed. */
export class ConnectionService {
  constructor(private readonly deps: ConnectionServiceDeps) {}

  /**
   * Validates the grant by using it (a refresh), so a typo is a 400 now rather
   * than a dead subscriber later. That refresh is a real one: if the org rotates
   * refresh tokens, the token given is spent and the one answered is stored in
   * its place (with the access token, so that nobody refreshes again at once). Connecting an org that already has a
   * connection replaces that connection's credentials (this is how a
   * connection in `needs_reauth` is re-authorized) and keeps its id.
   */
  async connect(grant: ConnectionGrant): Promise<ConnectionRecord> {
    const { allowPrivateNetworks: allowPrivate, dispatcher } = this.deps;
    await assertAllowedUrl(grant.loginUrl, { allowPrivate, field: 'loginUrl' });
    const token = grant.token ?? (await refreshAccessToken(grant, grant.refreshToken, dispatcher));
    await assertAllowedUrl(token.instance_url, { allowPrivate, field: 'instanceUrl (reported by the org)' });
    const ids = parseIdentityUrl(token.id);
    const orgId = toId18(ids.orgId);
    if (!orgId) throw new TerminalError('SALESFORCE_AUTH', `org id '${ids.orgId}' is not a Salesforce id`, { status: 400 });
    const now = (this.deps.now?.() ?? new Date()).toISOString();
    const existing = this.deps.store.connections().find((c) => c.orgId === orgId);
    const id = existing?.id ?? randomUUID();
    const { box } = this.deps;
    const record: ConnectionRecord = {
      id,
      orgId,
      userId: toId18(ids.userId) ?? ids.userId,
      loginUrl: new URL(grant.loginUrl).origin,
      instanceUrl: token.instance_url,
      clientId: grant.clientId,
      clientSecret: box.seal(grant.clientSecret, sealedPlace.connection(id, 'clientSecret')),
      // The token endpoint's answer wins: under rotation the one given was just spent.
      refreshToken: box.seal(token.refresh_token ?? grant.refreshToken, sealedPlace.connection(id, 'refreshToken')),
      accessToken: box.seal(token.access_token, sealedPlace.connection(id, 'accessToken')),
      tokenRefreshedAt: now,
      grantId: randomUUID(),
      status: 'active',
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.deps.store.putConnection(record);
    this.deps.logger.info({ connectionId: record.id, orgId, reauthorized: existing !== undefined }, 'connection stored');
    return record;
  }

  /** The org moved: later sessions (a restart, another instance, workflows) start from its new instance URL. */
  async updateInstanceUrl(id: string, instanceUrl: string): Promise<void> {
    const c = this.deps.store.connection(id);
    if (!c || c.instanceUrl === instanceUrl) return;
    await assertAllowedUrl(instanceUrl, { allowPrivate: this.deps.allowPrivateNetworks, field: 'instanceUrl (reported by the org)' });
    await this.deps.store.putConnection({ ...c, instanceUrl, updatedAt: new Date().toISOString() });
    this.deps.logger.info({ connectionId: id, orgId: c.orgId, from: c.instanceUrl, to: instanceUrl }, 'connection instance URL updated');
  }

  async markNeedsReauth(id: string, reason: string): Promise<void> {
    const c = this.deps.store.connection(id);
    if (!c || c.status === 'needs_reauth') return;
    await this.deps.store.putConnection({ ...c, status: 'needs_reauth', statusReason: reason, updatedAt: new Date().toISOString() });
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
    await this.deps.store.deleteConnection(id);
    await this.deps.store.deleteCheckpoints(id);
    if (this.deps.store.tokenRequest(id)) await this.deps.store.deleteTokenRequest(id);
    try {
      const refreshToken = this.deps.box.open(c.refreshToken, sealedPlace.connection(c.id, 'refreshToken'));
      await revokeToken(c, refreshToken, this.deps.dispatcher);
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
