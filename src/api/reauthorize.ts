import { randomUUID } from 'node:crypto';
import { ForcehookError, TerminalError } from '../core/errors.js';
import type { SecretBox } from '../core/secrets.js';
import { toId18 } from '../events/salesforce-id.js';
import { assertAllowedUrl } from '../net/egress.js';
import { parseIdentityUrl, type OAuthClient, type TokenResponse } from '../source/oauth.js';
import type { ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';

export interface ReauthorizeDeps {
  store: ServiceStore;
  box: SecretBox;
  allowPrivateNetworks: boolean;
  now?: () => number;
}

/** The org a token answer belongs to, as an 18-character id. */
export function orgIdOf(token: TokenResponse): string {
  const ids = parseIdentityUrl(token.id);
  const orgId = toId18(ids.orgId);
  if (!orgId) throw new TerminalError('SALESFORCE_AUTH', `org id '${ids.orgId}' is not a Salesforce id`, { status: 400 });
  return orgId;
}

/**
 * Gives an existing connection a new grant, keeping its id, subscriptions and
 * checkpoints. A grant for another org is refused (`org_mismatch`): whoever
 * can start a connect session must not be able to point a connection at an
 * org of their choosing.
 */
export async function reauthorizeConnection(
  deps: ReauthorizeDeps,
  connectionId: string,
  oauth: OAuthClient,
  token: TokenResponse & { refresh_token: string },
): Promise<ConnectionRecord> {
  const target = deps.store.connection(connectionId);
  if (!target) throw new ForcehookError('CONFLICT', `the connection ${connectionId} to re-authorize no longer exists`, { status: 409 });
  const orgId = orgIdOf(token);
  if (orgId !== target.orgId) {
    throw new ForcehookError('CONFLICT', `org_mismatch: the authorized org ${orgId} is not the org ${target.orgId} of connection ${connectionId}`, {
      status: 409,
      details: { reason: 'org_mismatch', connectionId, orgId: target.orgId },
    });
  }
  await assertAllowedUrl(token.instance_url, { allowPrivate: deps.allowPrivateNetworks, field: 'instanceUrl (reported by the org)' });
  const now = new Date(deps.now?.() ?? Date.now()).toISOString();
  const { statusReason: _dropped, ...rest } = target;
  const record: ConnectionRecord = {
    ...rest,
    loginUrl: new URL(oauth.loginUrl).origin,
    instanceUrl: token.instance_url,
    clientId: oauth.clientId,
    clientSecret: deps.box.seal(oauth.clientSecret),
    refreshToken: deps.box.seal(token.refresh_token),
    accessToken: deps.box.seal(token.access_token),
    tokenRefreshedAt: now,
    grantId: randomUUID(),
    status: 'active',
    updatedAt: now,
  };
  await deps.store.putConnection(record);
  return record;
}
