import type { RequestHandler } from 'express';
import { UnauthorizedError } from '../core/errors.js';
import { constantTimeEqual } from '../core/secrets.js';

/** Bearer-token guard for /v1: the token is compared in constant time. */
export function bearerAuth(token: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !constantTimeEqual(m[1]!, token)) {
      next(new UnauthorizedError(m ? 'invalid bearer token' : 'missing bearer token (Authorization: Bearer <FORCEHOOK_API_TOKEN>)'));
      return;
    }
    next();
  };
}
