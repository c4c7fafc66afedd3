import type { Request, RequestHandler, Response } from 'express';
import type { Emulator } from '../emulator.js';
import type { Org, OrgApp } from '../org.js';
import { params, type Params } from './common.js';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function approvalPage(p: Params, org: Org, error?: string): string {
  const hidden = ['response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method']
    .filter((k) => p[k] !== undefined)
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(p[k]!)}">`)
    .join('\n');
  return `<!doctype html>
<html><head><title>Allow Access? | Salesforce</title><link rel="icon" href="data:,"></head>
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

/** What both the approval page and its form post check first; answers the error itself and returns undefined. */
function authorizeChecks(em: Emulator, req: Request, res: Response): { p: Params; org: Org; app: OrgApp } | undefined {
  const p = params(req);
  const org = em.orgByClientId(p.client_id);
  const app = org?.apps.get(p.client_id!);
  if (!org || !app) {
    res.status(400).type('html').send('<html><body><h1>OAuth Error</h1><p>error=invalid_client_id</p><p>client identifier invalid</p></body></html>');
    return undefined;
  }
  if (!validRedirect(p.redirect_uri)) {
    res
      .status(400)
      .type('html')
      .send('<html><body><h1>OAuth Error</h1><p>error=redirect_uri_mismatch</p><p>redirect_uri must match configuration</p></body></html>');
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
  return { p, org, app };
}

/**
 * Since September 2025 Salesforce lets a user authorize a connected app that is not installed
 * in the org only with "Approve Uninstalled Connected Apps"; anyone else is sent back to the
 * `redirect_uri` with this error once logged in (Salesforce's own words, its spelling included).
 */
const APPROVAL_ERROR = { error: 'OAUTH_APPROVAL_ERROR_GENERIC', error_description: 'An unexpected error has occured during authentication' };

/** GET /services/oauth2/authorize: the approval (login) page. */
export function authorizePage(em: Emulator): RequestHandler {
  return (req, res) => {
    const ok = authorizeChecks(em, req, res);
    if (ok) res.type('html').send(approvalPage(ok.p, ok.org));
  };
}

/** POST /services/oauth2/authorize: the page's form; allowed with the right login, back to `redirect_uri` with a code. */
export function authorizeDecision(em: Emulator): RequestHandler {
  return (req, res) => {
    const ok = authorizeChecks(em, req, res);
    if (!ok) return;
    const { p, org, app } = ok;
    if (p.action === 'deny') {
      redirectWith(res, p.redirect_uri!, { error: 'access_denied', error_description: 'end-user denied authorization', state: p.state });
      return;
    }
    if (p.username?.toLowerCase() !== org.user.username.toLowerCase() || p.password !== org.user.password) {
      res
        .status(200)
        .type('html')
        .send(approvalPage(p, org, "Please check your username and password. If you still can't log in, contact your Salesforce administrator."));
      return;
    }
    if (!app.installed && !org.permissions.approveUninstalledApps) {
      redirectWith(res, p.redirect_uri!, { ...APPROVAL_ERROR, state: p.state });
      return;
    }
    const code = em.tokens.issueCode({
      orgId: org.id,
      userId: org.user.id,
      clientId: app.clientId,
      redirectUri: p.redirect_uri!,
      codeChallenge: p.code_challenge,
    });
    redirectWith(res, p.redirect_uri!, { code, state: p.state });
  };
}
