import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { SecretBox } from '../core/secrets.js';
import { parseBody, parseQuery } from '../http/validate.js';
import { assertAllowedUrl } from '../net/egress.js';
import type { ConnectionService } from '../source/connections.js';
import { exchangeCode } from '../source/oauth.js';

const LOGIN_HOSTS = { production: 'https://login.salesforce.com', sandbox: 'https://test.salesforce.com' } as const;
const SESSION_TTL_MS = 10 * 60_000;
/** What forcehook needs: the REST/Streaming APIs and a refresh token to keep following the org. */
const SCOPES = 'api refresh_token';

export const CreateConnectSessionSchema = z
  .object({
    environment: z.enum(['production', 'sandbox']).optional(),
    loginUrl: z.url({ protocol: /^https?$/ }).optional().describe('My Domain login URL; wins over environment'),
    oauthApp: z.object({ clientId: z.string().min(1).max(512), clientSecret: z.string().min(1).max(512) }).strict().optional(),
    returnUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();

/** Everything the callback needs, sealed (AES-GCM) into `state`: tamper-proof and secret. */
const StateSchema = z.object({
  loginUrl: z.string(),
  clientId: z.string(),
  clientSecret: z.string(),
  returnUrl: z.string().optional(),
  expiresAt: z.number(),
  nonce: z.string(),
});

/** A state travels through the user's browser and names no record: its place is its purpose alone. */
const STATE_PLACE = { kind: 'oauthState', id: '', field: 'state' } as const;

const CallbackQuerySchema = z.object({
  state: z.string().min(1),
  code: z.string().min(1).optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

export interface ConnectSessionDeps {
  box: SecretBox;
  connections: ConnectionService;
  /** Base of the OAuth callback URL; known only once the server listens when not configured. */
  publicUrl: () => string;
  allowPrivateNetworks: boolean;
  /** The service's own OAuth app, when the operator configured one. */
  defaultApp?: { clientId: string; clientSecret: string };
  logger: Logger;
  now?: () => number;
}

function callbackUrl(publicUrl: string): string {
  return new URL('/oauth/callback', publicUrl).toString();
}

/** POST /v1/connect-sessions: starts the OAuth 2.0 web-server flow. */
export function connectSessionsRouter(deps: ConnectSessionDeps): Router {
  const r = Router();
  r.post('/connect-sessions', async (req, res) => {
    const body = parseBody(req, CreateConnectSessionSchema);
    const app = body.oauthApp ?? deps.defaultApp;
    if (!app) throw new ValidationError('body.oauthApp: required (no default OAuth app is configured)');
    const loginUrl = body.loginUrl ?? LOGIN_HOSTS[body.environment ?? 'production'];
    await assertAllowedUrl(loginUrl, { allowPrivate: deps.allowPrivateNetworks, field: 'body.loginUrl' });
    const expiresAt = (deps.now?.() ?? Date.now()) + SESSION_TTL_MS;
    const state = deps.box.seal(
      JSON.stringify({ loginUrl: new URL(loginUrl).origin, ...app, returnUrl: body.returnUrl, expiresAt, nonce: randomBytes(12).toString('base64url') }),
      STATE_PLACE,
    );
    const authorize = new URL('/services/oauth2/authorize', loginUrl);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: app.clientId,
      redirect_uri: callbackUrl(deps.publicUrl()),
      scope: SCOPES,
      state,
    }).toString();
    res.status(201).json({ authorizeUrl: authorize.toString(), expiresAt: new Date(expiresAt).toISOString() });
  });
  return r;
}

/** GET /oauth/callback: Salesforce redirects the user's browser here. */
export function oauthCallbackRouter(deps: ConnectSessionDeps): Router {
  const r = Router();
  // A state is good for one exchange: a replayed callback must not create a second connection.
  const used = new LRUCache<string, true>({ max: 10_000, ttl: SESSION_TTL_MS });
  r.get('/oauth/callback', async (req, res) => {
    const q = parseQuery(req, CallbackQuerySchema);
    let state: z.infer<typeof StateSchema>;
    try {
      state = StateSchema.parse(JSON.parse(deps.box.open(q.state, STATE_PLACE)));
    } catch {
      throw new ValidationError('query.state: invalid or tampered');
    }
    if (state.expiresAt < (deps.now?.() ?? Date.now())) throw new ValidationError('query.state: the connect session expired; start a new one');
    if (used.has(state.nonce)) throw new ValidationError('query.state: this connect session was already used');
    used.set(state.nonce, true);
    const back = (params: Record<string, string>) => {
      if (!state.returnUrl) return false;
      const u = new URL(state.returnUrl);
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
      res.redirect(303, u.toString());
      return true;
    };
    if (q.error || !q.code) {
      const error = q.error ?? 'missing_code';
      deps.logger.warn({ error, description: q.error_description }, 'OAuth authorization was not granted');
      if (!back({ error, ...(q.error_description ? { error_description: q.error_description } : {}) })) {
        throw new ValidationError(`authorization failed: ${error}${q.error_description ? ` (${q.error_description})` : ''}`);
      }
      return;
    }
    const oauth = { loginUrl: state.loginUrl, clientId: state.clientId, clientSecret: state.clientSecret };
    const token = await exchangeCode(oauth, q.code, callbackUrl(deps.publicUrl()));
    if (!token.refresh_token) {
      throw new ValidationError('the OAuth app did not issue a refresh token: add the "refresh_token" scope to it');
    }
    const record = await deps.connections.connect({ ...oauth, refreshToken: token.refresh_token, token });
    if (!back({ connectionId: record.id, orgId: record.orgId, status: 'connected' })) {
      res.status(201).json({ id: record.id, orgId: record.orgId, instanceUrl: record.instanceUrl, status: record.status });
    }
  });
  return r;
}
