import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { ForcehookError, TerminalError, TransientError } from '../core/errors.js';
import { snippet, type SalesforceEgress } from '../net/salesforce-egress.js';

/**
 * The token endpoint calls forcehook makes. Salesforce answers errors as
 * `{error, error_description}`; `invalid_grant` means the grant is gone
 * (revoked, expired, user deactivated) and only a person can fix that.
 */
export const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.url(),
  id: z.url(),
  issued_at: z.string().optional(),
  signature: z.string().optional(),
  token_type: z.string().optional(),
  scope: z.string().optional(),
  refresh_token: z.string().optional(),
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

const OAuthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export class ReauthRequiredError extends TerminalError {
  constructor(message: string, cause?: unknown) {
    super('SALESFORCE_REAUTH_REQUIRED', message, { cause, status: 400 });
  }
}

export interface OAuthClient {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
}

/** One call to a Salesforce host: its address checked at connect time, no redirect followed. */
async function salesforceCall(
  egress: SalesforceEgress,
  url: URL,
  opts: Pick<Dispatcher.RequestOptions, 'method' | 'headers' | 'body'>,
  what: string,
): Promise<{ status: number; text: string }> {
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { ...opts, headersTimeout: 15_000, bodyTimeout: 15_000, dispatcher: egress.dispatcher });
  } catch (cause) {
    if (cause instanceof ForcehookError) throw cause;
    throw new TransientError('SALESFORCE_AUTH', `${what} ${url.origin} unreachable: ${snippet((cause as Error).message)}`, { cause });
  }
  if (res.statusCode >= 300 && res.statusCode < 400) {
    // A redirect would carry the credentials (or the bearer token) to wherever it points.
    await res.body.dump();
    throw new TerminalError('SALESFORCE_AUTH', `${what} ${url.origin} answered a redirect (HTTP ${res.statusCode}); redirects are not followed`, {
      status: 400,
    });
  }
  return { status: res.statusCode, text: await res.body.text() };
}

async function tokenCall(client: OAuthClient, params: Record<string, string>, egress: SalesforceEgress): Promise<TokenResponse> {
  const login = egress.hosts.check(client.loginUrl, 'loginUrl');
  const url = new URL('/services/oauth2/token', login);
  const res = await salesforceCall(
    egress,
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...params, client_id: client.clientId, client_secret: client.clientSecret }).toString(),
    },
    'token endpoint',
  );
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  if (res.status >= 200 && res.status < 300) {
    const parsed = TokenResponseSchema.safeParse(body);
    if (!parsed.success) throw new TerminalError('SALESFORCE_AUTH', `token endpoint answered an unexpected body`);
    // Checked on every grant and refresh: the org's token is sent to these hosts next.
    egress.hosts.check(parsed.data.instance_url, 'instanceUrl (reported by the org)');
    const identity = egress.hosts.check(parsed.data.id, 'identity URL (reported by the org)');
    if (!egress.hosts.sameFamily(login, identity)) {
      throw new TerminalError(
        'SALESFORCE_AUTH',
        `the identity URL ${identity.origin} the token endpoint reported does not belong with the login URL ${login.origin}`,
        { status: 400 },
      );
    }
    return parsed.data;
  }
  const err = OAuthErrorSchema.safeParse(body);
  const what = err.success ? snippet(`${err.data.error}: ${err.data.error_description ?? ''}`).replace(/:$/, '') : `HTTP ${res.status}`;
  if (err.success && (err.data.error === 'invalid_grant' || err.data.error === 'invalid_client_id' || err.data.error === 'invalid_client')) {
    throw new ReauthRequiredError(`Salesforce refused the grant (${what})`);
  }
  if (res.status >= 500 || res.status === 429) throw new TransientError('SALESFORCE_AUTH', `token endpoint failed (${what})`);
  throw new TerminalError('SALESFORCE_AUTH', `token endpoint refused the request (${what})`, { status: 400 });
}

export function refreshAccessToken(client: OAuthClient, refreshToken: string, egress: SalesforceEgress): Promise<TokenResponse> {
  return tokenCall(client, { grant_type: 'refresh_token', refresh_token: refreshToken }, egress);
}

/** `pkce`: the verifier whose challenge the authorize request carried (Salesforce refuses the code without it). */
export function exchangeCode(
  client: OAuthClient,
  code: string,
  redirectUri: string,
  egress: SalesforceEgress,
  pkce?: { codeVerifier: string },
): Promise<TokenResponse> {
  const params = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, ...(pkce ? { code_verifier: pkce.codeVerifier } : {}) };
  return tokenCall(client, params, egress);
}

const IdentitySchema = z.object({ organization_id: z.string().min(15), user_id: z.string().min(15) });

/**
 * The org and user a token belongs to, as the identity service says, asked with that token:
 * the ids in the identity URL are only what the token endpoint claims. Salesforce answers
 * `organization_id` and `user_id` there.
 */
export async function confirmIdentity(token: TokenResponse, egress: SalesforceEgress): Promise<{ orgId: string; userId: string }> {
  const claimed = parseIdentityUrl(token.id);
  const url = egress.hosts.check(token.id, 'identity URL (reported by the org)');
  const res = await salesforceCall(
    egress,
    url,
    { method: 'GET', headers: { authorization: `Bearer ${token.access_token}`, accept: 'application/json' } },
    'identity URL',
  );
  if (res.status >= 500 || res.status === 429) throw new TransientError('SALESFORCE_AUTH', `identity URL failed (HTTP ${res.status})`);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    body = undefined;
  }
  const parsed = IdentitySchema.safeParse(body);
  if (res.status !== 200 || !parsed.success) {
    throw new TerminalError(
      'SALESFORCE_AUTH',
      `the identity URL did not confirm the token (HTTP ${res.status}${res.status === 200 ? ', unexpected body' : `: ${snippet(res.text, 80)}`})`,
      { status: 400 },
    );
  }
  const same = (a: string, b: string) => a.slice(0, 15) === b.slice(0, 15);
  if (!same(parsed.data.organization_id, claimed.orgId) || !same(parsed.data.user_id, claimed.userId)) {
    throw new TerminalError('SALESFORCE_AUTH', 'the identity URL answered another org or user than the token endpoint reported', { status: 400 });
  }
  return { orgId: parsed.data.organization_id, userId: parsed.data.user_id };
}

/**
 * Ends a grant at Salesforce: revoking a refresh token also ends the sessions
 * issued from it. Salesforce answers 200, or 400 with an OAuth error.
 */
export async function revokeToken(client: Pick<OAuthClient, 'loginUrl'>, token: string, egress: SalesforceEgress): Promise<void> {
  const url = new URL('/services/oauth2/revoke', egress.hosts.check(client.loginUrl, 'loginUrl'));
  const res = await salesforceCall(
    egress,
    url,
    { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() },
    'revoke endpoint',
  );
  if (res.status !== 200) {
    const err = OAuthErrorSchema.safeParse(safeJson(res.text));
    throw new TerminalError('SALESFORCE_AUTH', `revoke endpoint ${url.origin} answered HTTP ${res.status}${err.success ? ` (${err.data.error})` : ''}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `https://login.salesforce.com/id/<orgId>/<userId>` → its two ids. */
export function parseIdentityUrl(id: string): { orgId: string; userId: string } {
  const m = /\/id\/([a-zA-Z0-9]{15,18})\/([a-zA-Z0-9]{15,18})\/?$/.exec(new URL(id).pathname);
  if (!m) throw new TerminalError('SALESFORCE_AUTH', `unexpected identity URL '${snippet(id, 120)}'`, { status: 400 });
  return { orgId: m[1]!, userId: m[2]! };
}
