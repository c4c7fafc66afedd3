/**
 * The emulator's admin surface (documented in src/emulator/README.md), for tests, benchmarks and the
 * demo: loopback only, no auth, zod-validated bodies, errors as
 * `{"error":{"code","message","details"?}}`.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import type { ActivityScheduler } from './activity.js';
import { sfDateTime } from './clock.js';
import { convertLead, inTransaction, undeleteRecord } from './dml.js';
import type { Emulator } from './emulator.js';
import { normalizeId } from './ids.js';
import { customFieldType } from './metadata/objects.js';
import type { Org } from './org.js';
import { SfApiError } from './sf-errors.js';
import type { CometdServer } from './streaming/index.js';
import { ALL_CHANGE_EVENTS, changeEventChannel } from './streaming/index.js';

const fieldDef = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*__c$/, 'custom field names end in __c'),
    type: z.string().refine((t) => customFieldType(t) !== undefined, 'unsupported field type'),
    label: z.string().min(1).optional(),
    required: z.boolean().optional(),
    length: z.number().int().positive().max(131_072).optional(),
    referenceTo: z.string().min(1).optional(),
    picklistValues: z.array(z.string().min(1)).optional(),
    restricted: z.boolean().optional(),
    precision: z.number().int().positive().optional(),
    scale: z.number().int().nonnegative().optional(),
    externalId: z.boolean().optional(),
    formula: z.string().min(1).max(3_900).optional(),
  })
  .strict();

const customObjectDef = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*__c$/, 'custom object names end in __c'),
    label: z.string().min(1).optional(),
    fields: z.array(fieldDef).optional(),
  })
  .strict();

const permissions = z
  .object({ viewSetup: z.boolean().optional(), viewAllData: z.boolean().optional(), approveUninstalledApps: z.boolean().optional() })
  .strict();

const schemas = {
  createOrg: z
    .object({
      cdcEntities: z.array(z.string().min(1)).optional(),
      apiDailyLimit: z.number().int().positive().optional(),
      customObjects: z.array(customObjectDef).optional(),
      rotateRefreshTokens: z.boolean().optional(),
      requirePkce: z.boolean().optional(),
      sessionTimeoutMs: z.number().int().positive().optional(),
      refreshTokenIdleMs: z.number().int().positive().optional(),
      edition: z.enum(['developer', 'enterprise', 'unlimited']).optional(),
      eventDeliveryDailyLimit: z.number().int().nonnegative().optional(),
      permissions: permissions.optional(),
      appInstalled: z.boolean().optional(),
      overflowThreshold: z.number().int().positive().optional(),
    })
    .strict(),
  permissions,
  app: z.object({ installed: z.boolean().optional() }).strict(),
  changes: z.object({ channel: z.string().startsWith('/').optional(), payload: z.record(z.string(), z.unknown()) }).strict(),
  cdcEntities: z.object({ entities: z.array(z.string().min(1)) }).strict(),
  undelete: z.object({ ids: z.array(z.string().min(1)).min(1).max(200) }).strict(),
  leadConvert: z
    .object({ leadId: z.string().min(15).max(18), convertedStatus: z.string().min(1).optional(), createOpportunity: z.boolean().optional() })
    .strict(),
  faults: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('expire-access-tokens') }).strict(),
    z.object({ kind: z.literal('revoke-refresh-tokens') }).strict(),
    z.object({ kind: z.literal('drop-streaming-clients') }).strict(),
    z.object({ kind: z.literal('expire-replay') }).strict(),
    z.object({ kind: z.literal('purge-delete-log') }).strict(),
    z.object({ kind: z.literal('exhaust-event-allocation'), hours: z.number().positive().max(24).optional() }).strict(),
    z
      .object({
        kind: z.literal('move-instance'),
        instanceUrl: z.url({ protocol: /^http$/ }).optional(),
        port: z.number().int().min(0).max(65_535).optional(),
      })
      .strict(),
    z.object({ kind: z.literal('fail-requests'), status: z.number().int().min(400).max(599), count: z.number().int().min(0) }).strict(),
    z.object({ kind: z.literal('slow-requests'), ms: z.number().int().min(0).max(600_000), count: z.number().int().min(0) }).strict(),
  ]),
  activity: z
    .object({
      perSecond: z.number().min(0).max(100_000),
      objects: z.array(z.string().min(1)).min(1).optional(),
      seconds: z.number().positive().optional(),
    })
    .strict(),
  clock: z.union([
    z.object({ advanceMs: z.number().int() }).strict(),
    z.object({ now: z.union([z.string().datetime({ offset: true }), z.number().int()]) }).strict(),
  ]),
};

class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first?.path.length ? first.path.join('.') : 'body';
    throw new AdminError(400, 'VALIDATION', `${where}: ${first?.message ?? 'invalid'}`, r.error.issues);
  }
  return r.data;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export interface AdminDeps {
  em: Emulator;
  cometd: CometdServer;
  activity: ActivityScheduler;
  /** The Pub/Sub API server, when the emulator serves one. */
  pubsub?: { resetStreams(orgId: string): number; subscriptions(orgId: string): number } | undefined;
}

export function adminRouter({ em, cometd, activity, pubsub }: AdminDeps): Router {
  const r = express.Router();
  r.use('/__emulator', (req, _res, next) => {
    const addr = req.socket.remoteAddress ?? '';
    if (!LOOPBACK.has(addr) && !addr.startsWith('127.')) return next(new AdminError(403, 'FORBIDDEN', 'the admin API answers loopback clients only'));
    next();
  });
  r.use('/__emulator', express.json({ limit: '5mb' }));

  const orgOf = (req: Request): Org => {
    const org = em.org(String(req.params.orgId));
    if (!org) throw new AdminError(404, 'NOT_FOUND', `unknown org ${String(req.params.orgId)}`);
    return org;
  };

  r.post('/__emulator/orgs', (req, res) => {
    const body = parse(schemas.createOrg, req.body);
    const { credentials } = em.createOrg(body);
    res.status(201).json(credentials);
  });

  r.get('/__emulator/orgs', (_req, res) => {
    res.json([...em.allOrgs()].map((o) => ({ orgId: o.id, username: o.user.username, createdAt: new Date(o.createdAt).toISOString() })));
  });

  r.delete('/__emulator/orgs/:orgId', (req, res) => {
    const org = orgOf(req);
    activity.stop(org.id);
    cometd.dropClients(org.id);
    em.deleteOrg(org.id);
    res.status(204).end();
  });

  r.post('/__emulator/orgs/:orgId/custom-objects', (req, res) => {
    const org = orgOf(req);
    const meta = org.addCustomObject(parse(customObjectDef, req.body));
    res.status(201).json({ name: meta.name, keyPrefix: meta.keyPrefix, channel: changeEventChannel(meta.name) });
  });

  // As an admin deletes a custom field in Setup.
  r.delete('/__emulator/orgs/:orgId/custom-objects/:name/fields/:field', (req, res) => {
    const org = orgOf(req);
    if (!org.deleteCustomField(String(req.params.name), String(req.params.field))) {
      throw new AdminError(404, 'NOT_FOUND', `${String(req.params.name)} has no custom field ${String(req.params.field)}`);
    }
    res.status(204).end();
  });

  r.post('/__emulator/orgs/:orgId/changes', (req, res) => {
    const org = orgOf(req);
    const { channel, payload } = parse(schemas.changes, req.body);
    const header = payload.ChangeEventHeader as { entityName?: unknown } | undefined;
    const entity = typeof header?.entityName === 'string' ? header.entityName : undefined;
    const target = channel ?? (entity ? changeEventChannel(entity) : undefined);
    if (!target) throw new AdminError(400, 'VALIDATION', 'channel: required when payload.ChangeEventHeader.entityName is absent');
    if (target === ALL_CHANGE_EVENTS && !entity)
      throw new AdminError(400, 'VALIDATION', 'payload.ChangeEventHeader.entityName: required for /data/ChangeEvents');
    const event = org.bus.publish(target, payload);
    org.eventsPublished++;
    res.json({ replayId: event.replayId, channel: event.channel });
  });

  r.put('/__emulator/orgs/:orgId/cdc-entities', (req, res) => {
    const org = orgOf(req);
    const { entities } = parse(schemas.cdcEntities, req.body);
    org.setCdcEntities(entities);
    res.json({ entities: [...(org.cdcEntities ?? [])] });
  });

  // A metadata deploy adding fields to a custom object: later change events use the new schema.
  r.post('/__emulator/orgs/:orgId/objects/:name/fields', (req, res) => {
    const org = orgOf(req);
    const { fields } = parse(z.object({ fields: z.array(fieldDef).min(1) }).strict(), req.body);
    const meta = org.addCustomFields(String(req.params.name), fields);
    res.status(201).json({ object: meta.name, fields: meta.fields.map((f) => f.name) });
  });

  // As an admin edits the connecting user's profile: takes effect on the next request and the next delivery.
  r.put('/__emulator/orgs/:orgId/permissions', (req, res) => {
    const org = orgOf(req);
    const body = parse(schemas.permissions, req.body);
    for (const [k, v] of Object.entries(body)) if (v !== undefined) org.permissions[k as keyof typeof org.permissions] = v;
    res.json({ ...org.permissions });
  });

  // An External Client App of the org besides its own connected app (installed unless told).
  r.post('/__emulator/orgs/:orgId/apps', (req, res) => {
    const org = orgOf(req);
    const body = parse(schemas.app, req.body);
    res.status(201).json(em.addApp(org, body.installed ?? true));
  });

  // As an admin installs (or uninstalls) the app's package: the next authorization sees it.
  r.put('/__emulator/orgs/:orgId/apps/:clientId', (req, res) => {
    const org = orgOf(req);
    const app = org.apps.get(String(req.params.clientId));
    if (!app) throw new AdminError(404, 'NOT_FOUND', `org ${org.id} has no app ${String(req.params.clientId)}`);
    const body = parse(schemas.app, req.body);
    if (body.installed !== undefined) app.installed = body.installed;
    res.json({ clientId: app.clientId, installed: app.installed });
  });

  r.post('/__emulator/orgs/:orgId/undelete', (req, res) => {
    const org = orgOf(req);
    const { ids } = parse(schemas.undelete, req.body);
    // One transaction, like Database.undelete of a list: one transactionKey for the UNDELETE events.
    const results = inTransaction(org, 'com/salesforce/api/rest/59.0;client=forcehook-emulator-admin', (txn) =>
      ids.map((raw) => {
        const id = normalizeId(raw);
        try {
          if (!id) throw new SfApiError(400, [{ message: `invalid id: ${raw}`, errorCode: 'MALFORMED_ID' }]);
          undeleteRecord(org, txn, id);
          return { id, success: true, errors: [] };
        } catch (err) {
          if (!(err instanceof SfApiError)) throw err;
          return { id: id ?? raw, success: false, errors: err.items.map((e) => ({ statusCode: e.errorCode, message: e.message, fields: e.fields ?? [] })) };
        }
      }),
    );
    res.json(results);
  });

  r.post('/__emulator/orgs/:orgId/lead-convert', (req, res) => {
    const org = orgOf(req);
    const body = parse(schemas.leadConvert, req.body);
    const leadId = normalizeId(body.leadId);
    if (!leadId) throw new AdminError(400, 'VALIDATION', `leadId: not a record id: ${body.leadId}`);
    const result = inTransaction(org, 'com/salesforce/api/rest/59.0;client=forcehook-emulator-admin', (txn) => convertLead(org, txn, leadId, body));
    res.json(result);
  });

  r.post('/__emulator/orgs/:orgId/faults', async (req, res) => {
    const org = orgOf(req);
    const fault = parse(schemas.faults, req.body);
    switch (fault.kind) {
      case 'expire-access-tokens':
        return res.json({ kind: fault.kind, expired: em.tokens.expireAccessTokens(org.id) });
      case 'revoke-refresh-tokens': {
        const revoked = em.tokens.revokeRefreshTokens(org.id);
        // Connected streaming clients learn it on their next connect: 401::Authentication invalid.
        em.onRevoked();
        return res.json({ kind: fault.kind, revoked });
      }
      case 'drop-streaming-clients':
        // Pub/Sub streams are reset the way a dropped HTTP/2 stream is (UNAVAILABLE).
        return res.json({ kind: fault.kind, dropped: cometd.dropClients(org.id), pubsubStreamsReset: pubsub?.resetStreams(org.id) ?? 0 });
      case 'expire-replay': {
        const expired = org.bus.retained();
        org.bus.expireAll();
        return res.json({ kind: fault.kind, expired });
      }
      case 'purge-delete-log': {
        // An admin empties the Recycle Bin: earlier deletions leave getDeleted's log and queryAll for good.
        const until = org.store.purgeLog(em.clock.now());
        return res.json({ kind: fault.kind, earliestDateAvailable: sfDateTime(until) });
      }
      case 'exhaust-event-allocation': {
        // Spent until `hours` pass; without them, until the rolling 24 h frees it.
        const now = em.clock.now();
        org.deliveries.exhaustedUntil = now + (fault.hours ?? 24) * 3_600_000;
        const refused = cometd.enforceAllocation(org.id);
        return res.json({ kind: fault.kind, until: sfDateTime(org.deliveries.exhaustedUntil), refused });
      }
      case 'move-instance': {
        // The new instance is this emulator on another port (a new one unless told): the org's data goes with it.
        const port = fault.instanceUrl ? Number(new URL(fault.instanceUrl).port || 80) : (fault.port ?? 0);
        const served = await em.listenAlso(port);
        const from = em.instanceUrlOf(org);
        org.instanceUrl = fault.instanceUrl ? new URL(fault.instanceUrl).origin : served;
        // Clients streaming from the old instance lose it; their next handshake there is refused.
        const dropped = cometd.dropClients(org.id);
        return res.json({ kind: fault.kind, from, instanceUrl: org.instanceUrl, dropped });
      }
      case 'fail-requests':
        org.faults.failStatus = fault.status;
        org.faults.failCount = fault.count;
        return res.json({ kind: fault.kind, status: fault.status, count: fault.count });
      case 'slow-requests':
        org.faults.slowMs = fault.ms;
        org.faults.slowCount = fault.count;
        return res.json({ kind: fault.kind, ms: fault.ms, count: fault.count });
    }
  });

  r.post('/__emulator/orgs/:orgId/activity', (req, res) => {
    const org = orgOf(req);
    const body = parse(schemas.activity, req.body);
    res.json({ activity: activity.start(org, body) });
  });

  r.get('/__emulator/orgs/:orgId/stats', (req, res) => {
    const org = orgOf(req);
    const now = em.clock.now();
    res.json({
      orgId: org.id,
      instanceUrl: em.instanceUrlOf(org),
      apiCalls: org.api.used(now),
      apiDailyLimit: org.api.limit,
      streamingClients: cometd.stats(org.id).streamingClients,
      pubsubSubscriptions: pubsub?.subscriptions(org.id) ?? 0,
      maxStreamingClients: org.maxStreamingClients,
      edition: org.edition,
      eventsDelivered: org.deliveries.used(now),
      eventDeliveryDailyLimit: org.deliveries.limit,
      retainedEvents: org.bus.retained(),
      eventsPublished: org.eventsPublished,
      rotateRefreshTokens: org.oauth.rotateRefreshTokens,
      tokenRefreshes: org.tokenStats.refreshes,
      rotatedTokenReuses: org.tokenStats.rotatedReuses,
      records: org.store.size(),
      recordsByObject: org.store.counts(),
      cdcEntities: org.cdcEntities === null ? 'all' : [...org.cdcEntities],
      permissions: { ...org.permissions },
      apps: [...org.apps.values()].map((a) => ({ clientId: a.clientId, installed: a.installed })),
      activity: activity.status(org.id),
      now: sfDateTime(now),
    });
  });

  r.get('/__emulator/clock', (_req, res) => {
    res.json({ now: new Date(em.clock.now()).toISOString() });
  });

  r.post('/__emulator/clock', (req, res) => {
    const body = parse(schemas.clock, req.body);
    if ('advanceMs' in body) em.clock.advance(body.advanceMs);
    else em.clock.set(typeof body.now === 'number' ? body.now : Date.parse(body.now));
    res.json({ now: new Date(em.clock.now()).toISOString() });
  });

  r.get('/__emulator/stats', (_req, res) => {
    let orgs = 0;
    let records = 0;
    let retainedEvents = 0;
    let eventsPublished = 0;
    let streamingClients = 0;
    for (const org of em.allOrgs()) {
      orgs++;
      records += org.store.size();
      retainedEvents += org.bus.retained();
      eventsPublished += org.eventsPublished;
      streamingClients += cometd.stats(org.id).streamingClients;
    }
    res.json({ orgs, records, retainedEvents, eventsPublished, streamingClients });
  });

  r.use('/__emulator', (_req, _res, next) => next(new AdminError(404, 'NOT_FOUND', 'no such admin route')));

  r.use('/__emulator', (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof AdminError) {
      res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    } else if (err instanceof ValidationError) {
      res.status(400).json({ error: { code: 'VALIDATION', message: err.message } });
    } else if (err instanceof SfApiError) {
      res.status(err.status).json({ error: { code: err.items[0]?.errorCode ?? 'ERROR', message: err.items[0]?.message ?? err.message } });
    } else if (err instanceof SyntaxError || (err as { type?: string })?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'VALIDATION', message: `body: invalid JSON (${(err as Error).message})` } });
    } else {
      em.logger.error({ err }, 'emulator admin route failed');
      res.status(500).json({ error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } });
    }
  });
  return r;
}
