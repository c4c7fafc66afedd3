import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { ForcehookError, TerminalError, TransientError } from '../core/errors.js';

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

async function tokenCall(client: OAuthClient, params: Record<string, string>, dispatcher?: Dispatcher): Promise<TokenResponse> {
  const url = new URL('/services/oauth2/token', client.loginUrl);
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ ...params, client_id: client.clientId, client_secret: client.clientSecret }).toString(),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
      ...(dispatcher ? { dispatcher } : {}),
    });
  } catch (cause) {
    if (cause instanceof ForcehookError) throw cause;
    throw new TransientError('SALESFORCE_AUTH', `token endpoint ${url.origin} unreachable: ${(cause as Error).message}`, { cause });
  }
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    const parsed = TokenResponseSchema.safeParse(body);
    if (!parsed.success) throw new TerminalError('SALESFORCE_AUTH', `token endpoint answered an unexpected body`);
    return parsed.data;
  }
  const err = OAuthErrorSchema.safeParse(body);
  const what = err.success ? `${err.data.error}: ${err.data.error_description ?? ''}`.trim() : `HTTP ${res.statusCode}`;
  if (err.success && (err.data.error === 'invalid_grant' || err.data.error === 'invalid_client_id' || err.data.error === 'invalid_client')) {
    throw new ReauthRequiredError(`Salesforce refused the grant (${what})`);
  }
  if (res.statusCode >= 500 || res.statusCode === 429) throw new TransientError('SALESFORCE_AUTH', `token endpoint failed (${what})`);
  throw new TerminalError('SALESFORCE_AUTH', `token endpoint refused the request (${what})`, { status: 400 });
}

export function refreshAccessToken(client: OAuthClient, refreshToken: string, dispatcher?: Dispatcher): Promise<TokenResponse> {
  return tokenCall(client, { grant_type: 'refresh_token', refresh_token: refreshToken }, dispatcher);
}

export function exchangeCode(client: OAuthClient, code: string, redirectUri: string, dispatcher?: Dispatcher): Promise<TokenResponse> {
  return tokenCall(client, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, dispatcher);
}

/**
 * Ends a grant at Salesforce: revoking a refresh token also ends the sessions
 * issued from it. Salesforce answers 200, or 400 with an OAuth error.
 */
export async function revokeToken(client: Pick<OAuthClient, 'loginUrl'>, token: string, dispatcher?: Dispatcher): Promise<void> {
  const url = new URL('/services/oauth2/revoke', client.loginUrl);
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
    // Deleting a connection waits for it: a hung org must not hold the API call long.
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
    ...(dispatcher ? { dispatcher } : {}),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    const err = OAuthErrorSchema.safeParse(safeJson(text));
    throw new TerminalError('SALESFORCE_AUTH', `revoke endpoint ${url.origin} answered HTTP ${res.statusCode}${err.success ? ` (${err.data.error})` : ''}`);
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
  if (!m) throw new TerminalError('SALESFORCE_AUTH', `unexpected identity URL '${id}'`);
  return { orgId: m[1]!, userId: m[2]! };
}
