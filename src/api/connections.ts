import { Router } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { parseBody } from '../http/validate.js';
import type { CdcTransportKind, ConnectionService } from '../salesforce/connections.js';
import type { ConnectionRuntime } from '../source/status.js';
import type { ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { mappingWarnings } from './mappings.js';

const CdcTransportField = z.enum(['pubsub', 'cometd']);

export const CreateConnectionSchema = z
  .object({
    loginUrl: z.url({ protocol: /^https?$/ }).describe('https://login.salesforce.com, https://test.salesforce.com or a My Domain URL'),
    clientId: z.string().min(1).max(512),
    clientSecret: z.string().min(1).max(512),
    refreshToken: z.string().min(1).max(4096),
    instanceUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('informative: the org reports its own instance URL'),
    cdcTransport: CdcTransportField.optional().describe("how this org's CDC is followed; absent: the service's FORCEHOOK_CDC_TRANSPORT"),
  })
  .strict();

export const UpdateConnectionSchema = z
  .object({
    cdcTransport: CdcTransportField.nullable().describe("how this org's CDC is followed; null: the service's FORCEHOOK_CDC_TRANSPORT"),
  })
  .strict();

export const ReauthorizeConnectionSchema = z
  .object({
    clientId: z.string().min(1).max(512).optional().describe('the OAuth app; the connection keeps its own when absent'),
    clientSecret: z.string().min(1).max(512).optional(),
    refreshToken: z.string().min(1).max(4096),
  })
  .strict();

export interface ConnectionsDeps {
  store: ServiceStore;
  connections: ConnectionService;
  runtime: ConnectionRuntime;
  /** FORCEHOOK_CDC_TRANSPORT: what a connection without its own transport uses. */
  defaultCdcTransport: CdcTransportKind;
}

export function connectionView(
  c: ConnectionRecord,
  runtime: ConnectionRuntime,
  defaultCdcTransport: CdcTransportKind,
  extraWarnings: { code: string; message: string; since: string }[] = [],
) {
  const rt = runtime.status(c.id);
  return {
    id: c.id,
    orgId: c.orgId,
    instanceUrl: c.instanceUrl,
    loginUrl: c.loginUrl,
    status: c.status,
    ...(c.statusReason ? { statusReason: c.statusReason } : {}),
    subscriber: rt?.subscriber ?? (c.status === 'active' ? 'pending' : 'stopped'),
    objects: rt?.objects ?? [],
    cdcTransport: c.cdcTransport ?? defaultCdcTransport,
    cdcTransportIsDefault: c.cdcTransport === undefined,
    tokenRefreshedAt: c.tokenRefreshedAt ?? null,
    warnings: [...(rt?.warnings ?? []), ...extraWarnings],
    ...(rt?.apiUsage ? { apiUsage: rt.apiUsage } : {}),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

export function connectionsRouter(deps: ConnectionsDeps): Router {
  const r = Router();
  const view = (c: ConnectionRecord) => connectionView(c, deps.runtime, deps.defaultCdcTransport, mappingWarnings(deps.store, c.id));
  r.post('/connections', async (req, res) => {
    const body = parseBody(req, CreateConnectionSchema);
    const record = await deps.connections.connect(body);
    res.status(201).json({ id: record.id, orgId: record.orgId, instanceUrl: record.instanceUrl, status: record.status });
  });
  r.put('/connections/:id/credentials', async (req, res) => {
    const body = parseBody(req, ReauthorizeConnectionSchema);
    const record = await deps.connections.reauthorize(req.params.id, body);
    res.json(connectionView(record, deps.runtime, deps.defaultCdcTransport));
  });
  r.get('/connections', (_req, res) => {
    res.json({ data: deps.store.connections().map(view) });
  });
  r.get('/connections/:id', (req, res) => {
    const c = deps.store.connection(req.params.id);
    if (!c) throw new NotFoundError(`connection ${req.params.id} not found`);
    res.json(view(c));
  });
  r.patch('/connections/:id', async (req, res) => {
    const body = parseBody(req, UpdateConnectionSchema);
    res.json(view(await deps.connections.setCdcTransport(req.params.id, body.cdcTransport)));
  });
  r.delete('/connections/:id', async (req, res) => {
    await deps.connections.remove(req.params.id);
    res.status(204).end();
  });
  return r;
}
