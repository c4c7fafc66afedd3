import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { ForcehookError, NotFoundError, ValidationError, isReauthRequired } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { SecretBox } from '../core/secrets.js';
import { parseBody, parseQuery } from '../http/validate.js';
import { assertAllowedUrl } from '../net/egress.js';
import type { SalesforceEgress } from '../net/salesforce-egress.js';
import type { ConnectionService } from '../salesforce/connections.js';
import { exchangeCode } from '../salesforce/oauth.js';
import { MappingLabelSchema, MappingNameSchema } from './mapping-names.js';
import { sealedPlace, type ConnectSessionRecord, type ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';

const SESSION_TTL_MS = 10 * 60_000;
/** Sessions are kept this long past their expiry (for GET), then removed with their claims. */
const SESSION_KEEP_MS = 24 * 3600_000;
/** What forcehook needs: the REST/Streaming APIs and a refresh token to keep following the org. */
const SCOPES = 'api refresh_token';

export const CreateConnectSessionSchema = z
  .object({
    environment: z.enum(['production', 'sandbox']).optional(),
    loginUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('My Domain login URL; wins over environment'),
    oauthApp: z
      .object({ clientId: z.string().min(1).max(512), clientSecret: z.string().min(1).max(512) })
      .strict()
      .optional(),
    returnUrl: z.url({ protocol: /^https?$/ }).optional(),
    allowUserOAuth: z.boolean().optional().describe('the connect page offers the end user to enter their own OAuth app (user-configured OAuth)'),
    packageInstallUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('the package that installs the OAuth app in the org: the connect page offers it first (default: FORCEHOOK_PACKAGE_INSTALL_URL)'),
    mappings: z
      .array(
        z
          .object({
            name: MappingNameSchema,
            object: z.string().min(1).max(100).optional().describe('preselected object; the end user may choose another'),
            labels: z.array(MappingLabelSchema).min(1).max(50),
          })
          .strict(),
      )
      .max(10)
      .optional()
      .describe('field mappings the connect page asks the end user to choose: an object, and a field per label'),
    connectionId: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('re-authorize this connection (its login URL and OAuth app unless given); a callback for another org fails with org_mismatch'),
  })
  .strict();

/** The `state` parameter (and the connect page's token): the session id, sealed so that nobody can forge or alter it. */
const StateSchema = z.object({ s: z.string().min(1) });

/** A state travels through the user's browser and names no record: its place is its purpose alone. */
const STATE_PLACE = { kind: 'oauthState', id: '', field: 'state' } as const;
/** The connect page's link token: sealed for that session and that purpose only. */
export const pagePlace = (id: string) => ({ kind: 'connectPage', id, field: 'token' }) as const;
/** A connect session's sealed fields are bound to that session and field. */
export const sessionPlace = (id: string, field: 'clientSecret' | 'codeVerifier') => ({ kind: 'connectSession', id, field }) as const;

const CallbackQuerySchema = z.object({
  state: z.string().min(1),
  code: z.string().min(1).optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

export interface ConnectSessionDeps {
  box: SecretBox;
  store: ServiceStore;
  connections: ConnectionService;
  /** Base of the OAuth callback URL; known only once the server listens when not configured. */
  publicUrl: () => string;
  allowPrivateNetworks: boolean;
  /** Salesforce calls (the code exchange) go through it; its hosts decide which login URLs are allowed. */
  egress: SalesforceEgress;
  /** The service's own OAuth app, when the operator configured one. */
  defaultApp?: { clientId: string; clientSecret: string } | undefined;
  /** Where "production" and "sandbox" log in. */
  loginUrls?: { production: string; sandbox: string };
  /** The operator's package install URL, offered when a session names none. */
  packageInstallUrl?: string | undefined;
  logger: Logger;
  /** False while the state is still loading from Kafka: the callback cannot tell a session from none yet. */
  loaded?: () => boolean;
  now?: () => number;
}

function callbackUrl(publicUrl: string): string {
  return new URL('/oauth/callback', publicUrl).toString();
}

/** RFC 7636: a verifier of 43 characters from 32 random bytes (its S256 challenge goes in the authorize URL). */
function pkcePair(): { verifier: string } {
  return { verifier: randomBytes(32).toString('base64url') };
}

const DEFAULT_LOGIN_URLS = { production: 'https://login.salesforce.com', sandbox: 'https://test.salesforce.com' } as const;

export function loginUrlsOf(deps: Pick<ConnectSessionDeps, 'loginUrls'>): { production: string; sandbox: string } {
  return deps.loginUrls ?? DEFAULT_LOGIN_URLS;
}

/** Salesforce's authorize URL for a session whose login URL and app are known (PKCE S256, sealed state). */
export function authorizeUrlOf(box: SecretBox, s: ConnectSessionRecord): string {
  if (!s.clientId) throw new ValidationError('the connect session has no OAuth app yet');
  const verifier = box.open(s.codeVerifier, sessionPlace(s.id, 'codeVerifier'));
  const authorize = new URL('/services/oauth2/authorize', s.loginUrl);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: s.clientId,
    redirect_uri: s.redirectUri,
    scope: SCOPES,
    state: box.seal(JSON.stringify({ s: s.id }), STATE_PLACE),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return authorize.toString();
}

export function connectSessionView(s: ConnectSessionRecord, now: number) {
  const status = s.status === 'pending' && Date.parse(s.expiresAt) <= now ? 'expired' : s.status;
  return {
    id: s.id,
    status,
    ...(s.connectionId ? { connectionId: s.connectionId } : {}),
    ...(s.orgId ? { orgId: s.orgId } : {}),
    ...(s.error ? { error: s.error } : {}),
    ...(s.errorDescription ? { errorDescription: s.errorDescription } : {}),
    expiresAt: s.expiresAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** POST /v1/connect-sessions: starts the OAuth 2.0 web-server flow (always with PKCE); GET follows it. */
export function connectSessionsRouter(deps: ConnectSessionDeps): Router {
  const r = Router();
  const now = () => deps.now?.() ?? Date.now();
  let sweptAt = 0;
  r.post('/connect-sessions', async (req, res) => {
    const body = parseBody(req, CreateConnectSessionSchema);
    let target: ConnectionRecord | undefined;
    if (body.connectionId) {
      target = deps.store.connection(body.connectionId);
      if (!target) throw new NotFoundError(`connection ${body.connectionId} not found`);
    }
    // A connection being re-authorized keeps the app it was authorized with unless told otherwise:
    // the operator's default app may have moved on since (a new External Client App).
    const app =
      body.oauthApp ??
      (target
        ? { clientId: target.clientId, clientSecret: deps.box.open(target.clientSecret, sealedPlace.connection(target.id, 'clientSecret')) }
        : undefined) ??
      deps.defaultApp;
    if (!app && !body.allowUserOAuth) throw new ValidationError('body.oauthApp: required (no default OAuth app is configured, and allowUserOAuth is not set)');
    const hosts = loginUrlsOf(deps);
    const loginUrl = body.loginUrl ?? (body.environment ? hosts[body.environment] : (target?.loginUrl ?? hosts.production));
    deps.egress.hosts.check(loginUrl, 'body.loginUrl');
    await assertAllowedUrl(loginUrl, { allowPrivate: deps.allowPrivateNetworks, field: 'body.loginUrl' });
    const t = now();
    const at = new Date(t).toISOString();
    const pkce = pkcePair();
    const id = randomUUID();
    const packageInstallUrl = body.packageInstallUrl ?? deps.packageInstallUrl;
    const session: ConnectSessionRecord = {
      id,
      status: 'pending',
      loginUrl: new URL(loginUrl).origin,
      ...(app ? { clientId: app.clientId, clientSecret: deps.box.seal(app.clientSecret, sessionPlace(id, 'clientSecret')) } : {}),
      ...(body.allowUserOAuth ? { allowUserOAuth: true } : {}),
      ...(packageInstallUrl ? { packageInstallUrl } : {}),
      ...(body.mappings ? { mappings: body.mappings } : {}),
      ...(body.environment && !body.loginUrl ? { environment: body.environment } : {}),
      codeVerifier: deps.box.seal(pkce.verifier, sessionPlace(id, 'codeVerifier')),
      redirectUri: callbackUrl(deps.publicUrl()),
      ...(body.returnUrl ? { returnUrl: body.returnUrl } : {}),
      ...(target ? { connectionId: target.id } : {}),
      expiresAt: new Date(t + SESSION_TTL_MS).toISOString(),
      createdAt: at,
      updatedAt: at,
    };
    // Durable (and readable by every instance) before anyone can be sent to Salesforce.
    await deps.store.putConnectSession(session);
    // The page's link carries its own token, never the API key: it is all the end user's browser gets.
    const connectUrl = new URL(`/connect/${session.id}`, deps.publicUrl());
    connectUrl.searchParams.set('token', deps.box.seal(JSON.stringify({ s: session.id }), pagePlace(session.id)));
    res.status(201).json({
      id: session.id,
      ...(app ? { authorizeUrl: authorizeUrlOf(deps.box, session) } : {}),
      connectUrl: connectUrl.toString(),
      expiresAt: session.expiresAt,
    });
    if (t - sweptAt > 60_000) {
      sweptAt = t;
      void sweep(deps.store, t).catch((err: unknown) => deps.logger.warn({ err }, 'could not remove old connect sessions'));
    }
  });
  r.get('/connect-sessions/:id', (req, res) => {
    const s = deps.store.connectSession(req.params.id);
    if (!s) throw new NotFoundError(`connect session ${req.params.id} not found`);
    res.json(connectSessionView(s, now()));
  });
  return r;
}

/** Any instance may sweep: deleting twice is harmless, and a late claim on a removed session loses. */
async function sweep(store: ServiceStore, now: number): Promise<void> {
  for (const s of store.connectSessions()) if (Date.parse(s.expiresAt) + SESSION_KEEP_MS < now) await store.deleteConnectSession(s.id);
}

/**
 * What Salesforce's refusal on the authorize redirect means for the session. `OAUTH_APPROVAL_ERROR_GENERIC`
 * is what Salesforce answers (since September 2025) when the app is not installed in the org and the user
 * may not approve uninstalled apps: only an admin of the org can fix it, so it gets its own code.
 */
export function authorizeFailure(error: string, description: string | undefined): { error: string; description: string } {
  if (error === 'OAUTH_APPROVAL_ERROR_GENERIC') {
    return {
      error: 'app_not_installed',
      description:
        `Salesforce refused the authorization (${error}${description ? `: ${description}` : ''}): the OAuth app is not installed in the org ` +
        'and the user lacks "Approve Uninstalled Connected Apps". An admin installs the app (its package, or Setup > Connected Apps OAuth Usage > Install), ' +
        'or assigns that permission through a permission set.',
    };
  }
  return { error, description: description ?? 'Salesforce sent no authorization code' };
}

/** A failed flow's short code for the session and the return URL. */
function failureCode(err: unknown): string {
  if (err instanceof ForcehookError && (err.details as { reason?: unknown } | undefined)?.reason === 'org_mismatch') return 'org_mismatch';
  if (isReauthRequired(err)) return 'invalid_grant';
  // The org has a connection already: re-authorizing it is explicit (a session with its connectionId).
  if (err instanceof ForcehookError && err.code === 'CONFLICT') return 'already_connected';
  return 'connect_failed';
}

/** GET /oauth/callback: Salesforce redirects the user's browser here. */
export function oauthCallbackRouter(deps: ConnectSessionDeps): Router {
  const r = Router();
  const now = () => deps.now?.() ?? Date.now();
  r.get('/oauth/callback', async (req, res) => {
    const q = parseQuery(req, CallbackQuerySchema);
    if (deps.loaded && !deps.loaded()) {
      throw new ForcehookError('KAFKA_UNAVAILABLE', 'state is still loading from Kafka; reload this page shortly', { status: 503, retriable: true });
    }
    let sessionId: string;
    try {
      sessionId = StateSchema.parse(JSON.parse(deps.box.open(q.state, STATE_PLACE))).s;
    } catch {
      throw new ValidationError('query.state: invalid or tampered');
    }
    const refuse = (s: ConnectSessionRecord | undefined): void => {
      if (!s) throw new ValidationError('query.state: unknown connect session (removed, or never created here)');
      if (s.status !== 'pending') throw new ValidationError(`query.state: this connect session was already used (${s.status})`);
      if (Date.parse(s.expiresAt) <= now()) throw new ValidationError('query.state: the connect session expired; start a new one');
    };
    const known = deps.store.connectSession(sessionId);
    // Refused without a claim when this instance already knows; an unknown session is claimed
    // anyway: reading the claim back brings this instance up to date with the session's creation.
    if (known) refuse(known);
    const won = await deps.store.claimConnectSession(sessionId);
    const session = deps.store.connectSession(sessionId);
    refuse(session);
    if (!won || !session) throw new ValidationError('query.state: this connect session was already used (another request is redeeming it)');

    const finish = async (patch: Partial<ConnectSessionRecord> & Pick<ConnectSessionRecord, 'status'>): Promise<void> => {
      await deps.store.putConnectSession({ ...session, ...patch, updatedAt: new Date(now()).toISOString() });
    };
    const back = (params: Record<string, string>): boolean => {
      // Started on the connect page: the user comes back to it, which shows the outcome and the next step.
      if (session.viaPage) {
        res.redirect(303, `/connect/${encodeURIComponent(session.id)}/done`);
        return true;
      }
      if (!session.returnUrl) return false;
      const u = new URL(session.returnUrl);
      for (const [k, v] of Object.entries({ ...params, connectSessionId: session.id })) u.searchParams.set(k, v);
      res.redirect(303, u.toString());
      return true;
    };
    const fail = async (error: string, description: string, err?: unknown): Promise<void> => {
      await finish({ status: 'failed', error, errorDescription: description.slice(0, 500) });
      if (back({ error, error_description: description.slice(0, 500) })) return;
      throw err ?? new ValidationError(`authorization failed: ${error} (${description})`);
    };

    if (q.error || !q.code || !session.clientId || !session.clientSecret) {
      const salesforceError = (q.error ?? 'missing_code').slice(0, 100);
      deps.logger.warn({ error: salesforceError, description: q.error_description, connectSessionId: session.id }, 'OAuth authorization was not granted');
      const { error, description } = authorizeFailure(salesforceError, q.error_description);
      await fail(error, description);
      return;
    }
    const oauth = {
      loginUrl: session.loginUrl,
      clientId: session.clientId,
      clientSecret: deps.box.open(session.clientSecret, sessionPlace(session.id, 'clientSecret')),
    };
    let record: ConnectionRecord;
    try {
      const token = await exchangeCode(oauth, q.code, session.redirectUri, deps.egress, {
        codeVerifier: deps.box.open(session.codeVerifier, sessionPlace(session.id, 'codeVerifier')),
      });
      const refreshToken = token.refresh_token;
      if (!refreshToken) {
        throw new ValidationError('the OAuth app did not issue a refresh token: add the "refresh_token" scope to it', { reason: 'no_refresh_token' });
      }
      record = session.connectionId
        ? await deps.connections.reauthorize(session.connectionId, { ...oauth, refreshToken, token })
        : await deps.connections.connect({ ...oauth, refreshToken, token });
    } catch (err) {
      deps.logger.warn({ err, connectSessionId: session.id }, 'connect session failed');
      await fail(failureCode(err), err instanceof Error ? err.message : String(err), err);
      return;
    }
    await finish({ status: 'completed', connectionId: record.id, orgId: record.orgId });
    if (!back({ connectionId: record.id, orgId: record.orgId, status: 'connected' })) {
      res.status(201).json({ id: record.id, orgId: record.orgId, instanceUrl: record.instanceUrl, status: record.status, connectSessionId: session.id });
    }
  });
  return r;
}
