import { Router } from 'express';
import { principalOf } from '../http/auth.js';

/** `GET /v1/me`: who the bearer token is and what it may do (the console greys out what a key may not). */
export function meRouter(): Router {
  const r = Router();
  r.get('/me', (_req, res) => {
    const p = principalOf(res);
    if (!p || p.kind === 'admin') res.json({ kind: 'admin', scopes: ['read', 'write'], manageKeys: true });
    else res.json({ kind: 'key', id: p.id, scopes: p.scopes, manageKeys: false });
  });
  return r;
}
