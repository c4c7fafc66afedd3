import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { ForbiddenError, ForcehookError, UnauthorizedError } from '../core/errors.js';
import { constantTimeEqual } from '../core/secrets.js';

/**
 * Who a `/v1` request comes from. The admin token (FORCEHOOK_API_TOKEN) has every
 * scope and alone manages API keys; an API key has the scopes it was made with.
 */
export type Principal = { kind: 'admin' } | { kind: 'key'; id: string; scopes: readonly ('read' | 'write')[] };

/** The stored half of an API key: its scopes and the SHA-256 (hex) of its secret. */
export interface StoredApiKey {
  scopes: readonly ('read' | 'write')[];
  secretHash: string;
}

export interface ApiKeyLookup {
  /** False until the state holding the keys was read (a key cannot be told from a wrong one before). */
  loaded(): boolean;
  get(id: string): StoredApiKey | undefined;
}

/** `fhk_<16 hex id>_<43 base64url secret>`: the id finds the record, the secret is checked against its hash. */
const API_KEY = /^fhk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function formatApiKey(id: string, secret: string): string {
  return `fhk_${id}_${secret}`;
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Methods that only read: a `read` key may use these and nothing else. */
const READ_METHODS = new Set(['GET', 'HEAD']);

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

function bearer(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/**
 * Authentication and scopes for /v1, before any body is parsed. Tokens are
 * compared in constant time: the admin token through hashes of both sides,
 * an API key's secret by its SHA-256 against the stored one (the key is random
 * and high-entropy, so an unsalted hash is enough to make the stored value
 * useless to a reader of the state topic).
 */
export function apiAuth(opts: { adminToken: string; keys?: ApiKeyLookup }): RequestHandler {
  return (req, res, next) => {
    const token = bearer(req.get('authorization'));
    if (!token) {
      next(new UnauthorizedError('missing bearer token (Authorization: Bearer <FORCEHOOK_API_TOKEN or an API key>)'));
      return;
    }
    if (constantTimeEqual(token, opts.adminToken)) {
      res.locals.principal = { kind: 'admin' } satisfies Principal;
      next();
      return;
    }
    const m = API_KEY.exec(token);
    if (!m || !opts.keys) {
      next(new UnauthorizedError('invalid bearer token'));
      return;
    }
    if (!opts.keys.loaded()) {
      next(new ForcehookError('KAFKA_UNAVAILABLE', 'state is still loading from Kafka; retry shortly', { status: 503, retriable: true }));
      return;
    }
    const stored = opts.keys.get(m[1]!);
    const presented = Buffer.from(hashApiKeySecret(m[2]!), 'hex');
    const expected = stored ? Buffer.from(stored.secretHash, 'hex') : Buffer.alloc(presented.length);
    if (!stored || expected.length !== presented.length || !timingSafeEqual(presented, expected)) {
      next(new UnauthorizedError('invalid bearer token (unknown or revoked API key)'));
      return;
    }
    res.locals.principal = { kind: 'key', id: m[1]!, scopes: stored.scopes } satisfies Principal;
    if (!READ_METHODS.has(req.method) && !stored.scopes.includes('write')) {
      next(new ForbiddenError(`this API key has the read scope only: ${req.method} needs write`));
      return;
    }
    next();
  };
}

/** For routes only the admin token may use (API key management). */
export const requireAdmin: RequestHandler = (_req, res, next) => {
  next(principalOf(res)?.kind === 'admin' ? undefined : new ForbiddenError('only FORCEHOOK_API_TOKEN may manage API keys'));
};

/** `/metrics` behind its own token, when one is configured. */
export function metricsAuth(token: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (token === undefined) return next();
    const presented = bearer(req.get('authorization'));
    next(
      presented !== undefined && constantTimeEqual(presented, token)
        ? undefined
        : new UnauthorizedError('/metrics needs Authorization: Bearer <FORCEHOOK_METRICS_TOKEN>'),
    );
  };
}
