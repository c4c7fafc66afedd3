import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { formatApiKey, hashApiKeySecret, requireAdmin } from '../http/auth.js';
import { parseBody } from '../http/validate.js';
import { API_KEY_SCOPES, type ApiKeyRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';

export const CreateApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    scopes: z
      .array(z.enum(API_KEY_SCOPES))
      .min(1)
      .refine((s) => s.includes('read'), 'every key reads: ["read"] or ["read","write"]')
      .describe('["read"]: GET only; ["read","write"]: every method except API key management'),
  })
  .strict();

export function apiKeyView(k: ApiKeyRecord) {
  return { id: k.id, name: k.name, scopes: k.scopes, createdAt: k.createdAt };
}

/**
 * Named API keys, managed by the admin token only. A key is shown once, in the
 * answer that creates it; the state keeps the SHA-256 of its secret. Keys live
 * in the state topic, so a revocation reaches every instance as it follows
 * the topic (no restart, no cache to expire).
 */
export function apiKeysRouter(deps: { store: ServiceStore; now?: () => number }): Router {
  const r = Router();
  r.use('/api-keys', requireAdmin);
  r.post('/api-keys', async (req, res) => {
    const body = parseBody(req, CreateApiKeySchema);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      name: body.name,
      scopes: API_KEY_SCOPES.filter((s) => body.scopes.includes(s)),
      secretHash: hashApiKeySecret(secret),
      createdAt: new Date(deps.now?.() ?? Date.now()).toISOString(),
    };
    await deps.store.putApiKey(record);
    res.status(201).json({ ...apiKeyView(record), key: formatApiKey(id, secret) });
  });
  r.get('/api-keys', (_req, res) => {
    res.json({ data: deps.store.apiKeys().map(apiKeyView) });
  });
  r.delete('/api-keys/:id', async (req, res) => {
    if (!deps.store.apiKey(req.params.id)) throw new NotFoundError(`API key ${req.params.id} not found`);
    await deps.store.deleteApiKey(req.params.id);
    res.status(204).end();
  });
  return r;
}
