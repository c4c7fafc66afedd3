/**
 * OAuth 2.0 as Salesforce answers it (reference §4.1 and the oauth-* fixtures):
 * authorize (a minimal approval page), token (authorization_code,
 * refresh_token, password), revoke, userinfo and the identity URL. A refresh
 * answers no new refresh token unless the org's app rotates them.
 */
import { createHash, createHmac } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { Emulator } from './emulator.js';
import type { Org } from './org.js';

type Params = Record<string, string | undefined>;

function params(req: Request): Params {
  const out: Params = {};
  for (const src of [req.query, req.body]) {
    if (!src || typeof src !== 'object') continue;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

export function identityUrl(em: Emulator, org: Org): string {
  return `${em.baseUrl}/id/${org.id}/${org.user.id}`;
}

function tokenResponse(em: Emulator, org: Org, accessToken: string, extra: { refreshToken?: string; scope?: string }): Record<string, string> {
  const id = identityUrl(em, org);
  const issuedAt = String(em.clock.now());
  // Salesforce signs id + issued_at with the consumer secret (HMAC-SHA256, base64).
  const signature = createHmac('sha256', org.clientSecret).update(id + issuedAt).digest('base64');
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

const SCOPE = 'api refresh_token id';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function approvalPage(p: Params, org: Org, error?: string): string {
  const hidden = ['response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method']
    .filter((k) => p[k] !== undefined)
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(p[k]!)}">`)
    .join('\n');
  return `<!doctype html>
<html><head><title>Allow Access? | Salesforce</title></head>
<body>
<h1>Allow Access?</h1>
<p>An application wants to access your Salesforce org ${escapeHtml(org.id)}.</p>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/services/oauth2/authorize">
${hidden}
<label>Username <input name="username" value="${escapeHtml(p.username ?? org.user.username)}"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>
</body></html>`;
}

function redirectWith(res: Response, redirectUri: string, query: Record<string, string | undefined>): void {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  res.redirect(302, url.toString());
}

function validRedirect(uri: string | undefined): boolean {
  if (!uri) return false;
  try {
    new URL(uri);
    return true;
  } catch {
    return false;
  }
}

export function oauthRouter(em: Emulator): Router {
  const r = express.Router();
  r.use('/services/oauth2', express.urlencoded({ extended: false }));

  function authorizeChecks(req: Request, res: Response): { p: Params; org: Org } | undefined {
    const p = params(req);
    const org = em.orgByClientId(p.client_id);
    if (!org) {
      res.status(400).type('html').send('<html><body><h1>OAuth Error</h1><p>error=invalid_client_id</p><p>client identifier invalid</p></body></html>');
      return undefined;
    }
    if (!validRedirect(p.redirect_uri)) {
      res.status(400).type('html').send('<html><body><h1>OAuth Error</h1><p>error=redirect_uri_mismatch</p><p>redirect_uri must match configuration</p></body></html>');
      return undefined;
    }
    if (p.response_type !== 'code') {
      redirectWith(res, p.redirect_uri!, { error: 'unsupported_response_type', error_description: 'response type not supported', state: p.state });
      return undefined;
    }
    // "Require Proof Key for Code Exchange (PKCE)": Salesforce sends the browser back before the login page.
    if (org.oauth.requirePkce && !p.code_challenge) {
      redirectWith(res, p.redirect_uri!, { error: 'invalid_request', error_description: 'missing required code challenge', state: p.state });
      return undefined;
    }
    return { p, org };
  }

  r.get('/services/oauth2/authorize', (req, res) => {
    const ok = authorizeChecks(req, res);
    if (ok) res.type('html').send(approvalPage(ok.p, ok.org));
  });

  r.post('/services/oauth2/authorize', (req, res) => {
    const ok = authorizeChecks(req, res);
    if (!ok) return;
    const { p, org } = ok;
    if (p.action === 'deny') {
      redirectWith(res, p.redirect_uri!, { error: 'access_denied', error_description: 'end-user denied authorization', state: p.state });
      return;
    }
    if (p.username?.toLowerCase() !== org.user.username.toLowerCase() || p.password !== org.user.password) {
      res.status(200).type('html').send(approvalPage(p, org, 'Please check your username and password. If you still can\'t log in, contact your Salesforce administrator.'));
      return;
    }
    const code = em.tokens.issueCode({
      orgId: org.id, userId: org.user.id, clientId: org.clientId, redirectUri: p.redirect_uri!, codeChallenge: p.code_challenge,
    });
    redirectWith(res, p.redirect_uri!, { code, state: p.state });
  });

  r.post('/services/oauth2/token', (req, res) => {
    const p = params(req);
    res.setHeader('Cache-Control', 'no-cache,must-revalidate,max-age=0,no-store,private');
    const grant = p.grant_type;
    if (grant !== 'password' && grant !== 'refresh_token' && grant !== 'authorization_code') {
      oauthError(res, 400, 'unsupported_grant_type', 'grant type not supported');
      return;
    }
    const org = em.orgByClientId(p.client_id);
    if (!org) {
      oauthError(res, 400, 'invalid_client_id', 'client identifier invalid');
      return;
    }
    // PKCE clients of the web-server flow may leave the secret out; everyone else must send it.
    const secretRequired = grant === 'password' || (grant === 'authorization_code' && p.code_verifier === undefined);
    if ((secretRequired || p.client_secret !== undefined) && p.client_secret !== org.clientSecret) {
      oauthError(res, 400, 'invalid_client', 'invalid client credentials');
      return;
    }
    if (grant === 'password') {
      if (p.username?.toLowerCase() !== org.user.username.toLowerCase() || p.password !== org.user.password) {
        oauthError(res, 400, 'invalid_grant', 'authentication failure');
        return;
      }
      res.json(tokenResponse(em, org, em.issueAccess(org, org.user.id), {}));
      return;
    }
    if (grant === 'refresh_token') {
      const g = em.tokens.useRefresh(p.refresh_token);
      if (!g || g.orgId !== org.id) {
        oauthError(res, 400, 'invalid_grant', 'expired access/refresh token');
        return;
      }
      org.tokenStats.refreshes++;
      if (g.retiredAt !== undefined) org.tokenStats.rotatedReuses++;
      const refreshToken = org.oauth.rotateRefreshTokens ? em.tokens.rotate(p.refresh_token!, g) : undefined;
      res.json(tokenResponse(em, org, em.issueAccess(org, g.userId, g.family), { scope: SCOPE, ...(refreshToken ? { refreshToken } : {}) }));
      return;
    }
    const code = em.tokens.takeCode(p.code);
    if (!code || code.orgId !== org.id) {
      oauthError(res, 400, 'invalid_grant', 'invalid authorization code');
      return;
    }
    // A challenge sent is verified whether or not the org requires PKCE; `code_challenge` is always the
    // SHA-256 of the verifier (Salesforce reads no `code_challenge_method`). A missing verifier fails too.
    if (code.codeChallenge !== undefined) {
      const expected = createHash('sha256').update(p.code_verifier ?? '').digest('base64url');
      if (p.code_verifier === undefined || expected !== code.codeChallenge) {
        oauthError(res, 400, 'invalid_grant', 'invalid code verifier');
        return;
      }
    }
    if (p.redirect_uri !== code.redirectUri) {
      oauthError(res, 400, 'redirect_uri_mismatch', 'redirect_uri must match configuration');
      return;
    }
    const refreshToken = em.issueRefresh(org, code.userId);
    res.json(tokenResponse(em, org, em.issueAccess(org, code.userId, em.tokens.familyOf(refreshToken)), { refreshToken, scope: SCOPE }));
  });

  const revoke = (req: Request, res: Response): void => {
    const token = params(req).token;
    if (!token || !em.tokens.revoke(token)) {
      oauthError(res, 400, 'unsupported_token_type', 'this token type is not supported');
      return;
    }
    em.onRevoked();
    res.status(200).end();
  };
  r.post('/services/oauth2/revoke', revoke);
  r.get('/services/oauth2/revoke', revoke);

  function bearer(req: Request): string | undefined {
    const m = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    return m?.[1] ?? (typeof req.query.oauth_token === 'string' ? req.query.oauth_token : undefined);
  }

  function identity(org: Org): Record<string, unknown> {
    const u = org.user;
    const base = em.baseUrl;
    const org15 = org.id.slice(0, 15);
    const v = '{version}';
    return {
      urls: {
        enterprise: `${base}/services/Soap/c/${v}/${org15}`,
        metadata: `${base}/services/Soap/m/${v}/${org15}`,
        partner: `${base}/services/Soap/u/${v}/${org15}`,
        rest: `${base}/services/data/v${v}/`,
        sobjects: `${base}/services/data/v${v}/sobjects/`,
        search: `${base}/services/data/v${v}/search/`,
        query: `${base}/services/data/v${v}/query/`,
        recent: `${base}/services/data/v${v}/recent/`,
        tooling_soap: `${base}/services/Soap/T/${v}/${org15}`,
        tooling_rest: `${base}/services/data/v${v}/tooling/`,
        profile: `${base}/${u.id}`,
        custom_domain: base,
      },
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: -28800000,
      email: u.email,
      photos: { picture: `${base}/profilephoto/005/F`, thumbnail: `${base}/profilephoto/005/T` },
    };
  }

  r.get('/services/oauth2/userinfo', (req, res) => {
    const g = em.tokens.validateAccess(bearer(req));
    const org = g && em.org(g.orgId);
    if (!org) {
      res.status(403).type('text/plain').send('Bad_OAuth_Token');
      return;
    }
    const u = org.user;
    const { urls, active, user_type, language, locale, utcOffset, email, photos } = identity(org);
    res.json({
      sub: identityUrl(em, org),
      user_id: u.id,
      organization_id: org.id,
      preferred_username: u.username,
      nickname: u.username.split('@')[0],
      name: `${u.firstName} ${u.lastName}`,
      email,
      email_verified: true,
      given_name: u.firstName,
      family_name: u.lastName,
      zoneinfo: 'America/Los_Angeles',
      photos,
      profile: `${em.baseUrl}/${u.id}`,
      picture: (photos as Record<string, string>).picture,
      address: {},
      is_salesforce_integration_user: false,
      urls,
      active,
      user_type,
      language,
      locale,
      utcOffset,
      updated_at: new Date(org.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
  });

  r.get('/id/:orgId/:userId', (req, res) => {
    const g = em.tokens.validateAccess(bearer(req));
    const org = g && em.org(g.orgId);
    if (!org || org.id !== em.org(req.params.orgId)?.id || req.params.userId.slice(0, 15) !== org.user.id.slice(0, 15)) {
      res.status(403).type('text/plain').send('Bad_OAuth_Token');
      return;
    }
    const u = org.user;
    const id = identity(org);
    res.json({
      id: identityUrl(em, org),
      asserted_user: true,
      user_id: u.id,
      organization_id: org.id,
      username: u.username,
      nick_name: u.username.split('@')[0],
      display_name: `${u.firstName} ${u.lastName}`,
      email: u.email,
      email_verified: true,
      first_name: u.firstName,
      last_name: u.lastName,
      timezone: 'America/Los_Angeles',
      photos: id.photos,
      addr_street: null,
      addr_city: null,
      addr_state: null,
      addr_country: null,
      addr_zip: null,
      mobile_phone: null,
      mobile_phone_verified: false,
      is_lightning_login_user: false,
      status: { created_date: null, body: null },
      urls: id.urls,
      active: true,
      user_type: 'STANDARD',
      language: 'en_US',
      locale: 'en_US',
      utcOffset: -28800000,
      last_modified_date: new Date(org.createdAt).toISOString().replace('Z', '+0000'),
      is_app_installed: true,
    });
  });

  return r;
}
