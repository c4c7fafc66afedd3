import { createHash, createHmac } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Emulator } from '../emulator.js';
import type { Org, OrgApp } from '../org.js';
import { identityUrl, oauthError, params, type Params } from './common.js';

const SCOPE = 'api refresh_token id';

function tokenResponse(em: Emulator, org: Org, app: OrgApp, accessToken: string, extra: { refreshToken?: string; scope?: string }): Record<string, string> {
  const id = identityUrl(em, org);
  const issuedAt = String(em.clock.now());
  // Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
  const signature = createHmac('sha256', app.clientSecret)
    .update(id + issuedAt)
    .digest('base64');
  const out: Record<string, string> = { access_token: accessToken };
  if (extra.refreshToken) out.refresh_token = extra.refreshToken;
  out.signature = signature;
  if (extra.scope) out.scope = extra.scope;
  out.instance_url = em.instanceUrlOf(org);
  out.id = id;
  out.token_type = 'Bearer';
  out.issued_at = issuedAt;
  return out;
}

/** The username-password flow. */
function passwordGrant(em: Emulator, org: Org, app: OrgApp, p: Params, res: Response): void {
  if (p.username?.toLowerCase() !== org.user.username.toLowerCase() || p.password !== org.user.password) {
    oauthError(res, 400, 'invalid_grant', 'authentication failure');
    return;
  }
  res.json(tokenResponse(em, org, app, em.issueAccess(org, org.user.id), {}));
}

/** A new access token for a refresh token; a new refresh token too when the org's app rotates them. */
function refreshGrant(em: Emulator, org: Org, app: OrgApp, p: Params, res: Response): void {
  const g = em.tokens.useRefresh(p.refresh_token);
  // A refresh token belongs to the app it was issued to: another app of the same org cannot use it.
  if (!g || g.orgId !== org.id || g.clientId !== app.clientId) {
    oauthError(res, 400, 'invalid_grant', 'expired access/refresh token');
    return;
  }
  org.tokenStats.refreshes++;
  if (g.retiredAt !== undefined) org.tokenStats.rotatedReuses++;
  const refreshToken = org.oauth.rotateRefreshTokens ? em.tokens.rotate(p.refresh_token!, g) : undefined;
  res.json(tokenResponse(em, org, app, em.issueAccess(org, g.userId, g.family), { scope: SCOPE, ...(refreshToken ? { refreshToken } : {}) }));
}

/** The web-server flow's code, redeemed once, with its PKCE verifier and the same redirect_uri. */
function authorizationCodeGrant(em: Emulator, org: Org, app: OrgApp, p: Params, res: Response): void {
  const code = em.tokens.takeCode(p.code);
  // RFC 6749 4.1.3: the code was issued to this client.
  if (!code || code.orgId !== org.id || code.clientId !== app.clientId) {
    oauthError(res, 400, 'invalid_grant', 'invalid authorization code');
    return;
  }
  // A challenge sent is verified whether or not the org requires PKCE; `code_challenge` is always the
  // SHA-256 of the verifier (Salesforce reads no `code_challenge_method`). A missing verifier fails too.
  if (code.codeChallenge !== undefined) {
    const expected = createHash('sha256')
      .update(p.code_verifier ?? '')
      .digest('base64url');
    if (p.code_verifier === undefined || expected !== code.codeChallenge) {
      oauthError(res, 400, 'invalid_grant', 'invalid code verifier');
      return;
    }
  }
  if (p.redirect_uri !== code.redirectUri) {
    oauthError(res, 400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
    return;
  }
  const refreshToken = em.issueRefresh(org, code.userId, app.clientId);
  res.json(tokenResponse(em, org, app, em.issueAccess(org, code.userId, em.tokens.familyOf(refreshToken)), { refreshToken, scope: SCOPE }));
}

/** POST /services/oauth2/token: the grant type, the client's credentials, then the grant. */
export function tokenEndpoint(em: Emulator): RequestHandler {
  return (req, res) => {
    const p = params(req);
    res.setHeader('Cache-Control', 'no-cache,must-revalidate,max-age=0,no-store,private');
    const grant = p.grant_type;
    if (grant !== 'password' && grant !== 'refresh_token' && grant !== 'authorization_code') {
      oauthError(res, 400, 'unsupported_grant_type', 'grant type not supported');
      return;
    }
    const org = em.orgByClientId(p.client_id);
    const app = org?.apps.get(p.client_id!);
    if (!org || !app) {
      oauthError(res, 400, 'invalid_client_id', 'client identifier invalid');
      return;
    }
    // PKCE clients of the web-server flow may leave the secret out; everyone else must send it.
    const secretRequired = grant === 'password' || (grant === 'authorization_code' && p.code_verifier === undefined);
    if ((secretRequired || p.client_secret !== undefined) && p.client_secret !== app.clientSecret) {
      oauthError(res, 400, 'invalid_client', 'invalid client credentials');
      return;
    }
    if (grant === 'password') passwordGrant(em, org, app, p, res);
    else if (grant === 'refresh_token') refreshGrant(em, org, app, p, res);
    else authorizationCodeGrant(em, org, app, p, res);
  };
}
