import type { Request, Response } from 'express';
import type { Emulator } from '../emulator.js';
import type { Org } from '../org.js';

export type Params = Record<string, string | undefined>;

/** The string parameters of a request, from its query and its form body. */
export function params(req: Request): Params {
  const out: Params = {};
  for (const src of [req.query, req.body]) {
    if (!src || typeof src !== 'object') continue;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

export function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

/** The access token of a request: its Authorization header (Bearer or OAuth), or `oauth_token` in the query. */
export function bearer(req: Request): string | undefined {
  const m = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  return m?.[1] ?? (typeof req.query.oauth_token === 'string' ? req.query.oauth_token : undefined);
}

export function identityUrl(em: Emulator, org: Org): string {
  return `${em.baseUrl}/id/${org.id}/${org.user.id}`;
}
