/**
 * The OpenAPI 3.1 description of the HTTP API, built from the same zod schemas
 * the routes validate with, so the document cannot drift from what is enforced.
 *
 * Built with zod's own `z.toJSONSchema` (draft 2020-12, the dialect OpenAPI 3.1
 * uses) rather than @asteasolutions/zod-to-openapi: that library wants every
 * schema wrapped with `.openapi()` after patching zod, which would touch the
 * request schemas other modules own; composing paths by hand is a short table.
 * `openapi.test.ts` checks the paths against the routes express actually has.
 */
import { z } from 'zod';
import { CreateApiKeySchema } from './api-keys.js';
import { CreateConnectSessionSchema } from './connect-sessions.js';
import { CreateConnectionSchema, ReauthorizeConnectionSchema, UpdateConnectionSchema } from './connections.js';
import { DeliveriesQuerySchema, EventsQuerySchema } from './history.js';
import { PutMappingSchema } from './mappings.js';
import { CreateSubscriptionSchema, RedeliverSchema } from './subscriptions.js';
import { AttemptEntrySchema } from '../deliver/attempt-log.js';
import { StructuredEventSchema } from '../deliver/types.js';
import { TRIGGERS, forcehookEventSchema } from '../events/schema.js';
import { EventFilterSchema } from '../history/events.js';
import { ConnectionStatusSchema } from '../source/status.js';
import { DestinationSchema } from '../state/records.js';

type Json = Record<string, unknown>;

// Answers are plain objects built in the routers; these schemas describe them (requests are parsed, answers are not).
const ConnectionCreated = z.object({
  id: z.string(),
  orgId: z.string(),
  instanceUrl: z.string(),
  status: z.enum(['active', 'needs_reauth']),
});
const Connection = ConnectionCreated.extend({
  loginUrl: z.string(),
  statusReason: z.string().optional(),
  subscriber: ConnectionStatusSchema.shape.subscriber,
  objects: ConnectionStatusSchema.shape.objects,
  cdcTransport: z.enum(['pubsub', 'cometd']).describe("how the org's CDC is followed: the connection's own choice, else FORCEHOOK_CDC_TRANSPORT"),
  cdcTransportIsDefault: z.boolean().describe('true when the connection has no transport of its own and follows the service default'),
  tokenRefreshedAt: z.iso
    .datetime()
    .nullable()
    .describe('when the OAuth tokens were last refreshed (at least every FORCEHOOK_TOKEN_REFRESH_INTERVAL_S while the connection is active)'),
  warnings: ConnectionStatusSchema.shape.warnings,
  apiUsage: ConnectionStatusSchema.shape.apiUsage,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const ConnectSessionCreated = z.object({
  id: z.string(),
  authorizeUrl: z
    .string()
    .optional()
    .describe('send the user here; carries a PKCE S256 challenge (absent when the end user is to enter their own OAuth app on the connect page)'),
  connectUrl: z
    .string()
    .describe("forcehook's hosted connect page for the end user: no API key, the session's own token (the link opens once and expires with the session)"),
  expiresAt: z.iso.datetime(),
});
const ConnectSession = z.object({
  id: z.string(),
  status: z.enum(['pending', 'completed', 'failed', 'expired']),
  connectionId: z.string().optional().describe('the connection made or re-authorized (pending: the one to re-authorize)'),
  orgId: z.string().optional(),
  error: z
    .string()
    .optional()
    .describe(
      'failed: access_denied (or another Salesforce error), app_not_installed (Salesforce answered OAUTH_APPROVAL_ERROR_GENERIC: the app is not installed in the org and the user may not approve uninstalled apps), org_mismatch, invalid_grant, connect_failed, ...',
    ),
  errorDescription: z.string().optional(),
  expiresAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const ApiKey = z.object({ id: z.string(), name: z.string(), scopes: z.array(z.enum(['read', 'write'])), createdAt: z.iso.datetime() });
const ApiKeyCreated = ApiKey.extend({ key: z.string().describe('the key, shown once: use it as the bearer token') });
const Subscription = z.object({
  id: z.string(),
  connectionId: z.string(),
  trigger: z.enum(TRIGGERS),
  object: z.string().optional(),
  campaignId: z.string().optional(),
  fields: z.array(z.string()).optional(),
  mapping: z.string().optional().describe("the connection's field mapping it names: events carry data.mapped ({label: value})"),
  mapped: z.record(z.string(), z.string()).optional().describe("the mapping's {label: field API name} the events are mapped with"),
  destination: DestinationSchema,
  pausedAt: z.iso.datetime().optional().describe('set while paused: deliveries wait, in order, until resumed'),
  createdAt: z.iso.datetime(),
});
const Mapping = z.object({
  name: z.string(),
  object: z.string().describe("the object's API name, as the org spells it"),
  fields: z.record(z.string(), z.string()).describe('{label: field API name}, as the org spells them'),
  missing: z.array(z.string()).optional().describe('fields the org no longer has (as last checked, when listed): also a warning on the connection'),
  checkedAt: z.iso.datetime().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const SubscriptionCreated = Subscription.extend({
  secret: z.string().optional().describe('webhook signing secret (whsec_...), shown once'),
});
const DeliveryState = z.object({
  state: z.enum(['active', 'failing', 'paused', 'disabled']),
  attempts: z.number().int(),
  delivered: z.number().int(),
  failures: z.number().int(),
  consecutiveFailures: z.number().int(),
  lastError: z.string().optional(),
  lastAttemptAt: z.iso.datetime().optional(),
  lastSuccessAt: z.iso.datetime().optional(),
  dlqCount: z.number().int(),
});
const SubscriptionWithDelivery = Subscription.extend({ delivery: DeliveryState });
const truncated = z.boolean().optional().describe('the scan limit was reached first: older matches may exist; narrow the filter or the time range');
const EventList = z.object({ data: z.array(StructuredEventSchema).describe('newest first, each the structured CloudEvent'), truncated });
const Attempt = AttemptEntrySchema.omit({ subscriptionId: true });
const AttemptList = z.object({ data: z.array(Attempt).describe('newest first'), truncated });
const RotatedSecret = z.object({ id: z.string(), secret: z.string(), previousSecretsValidUntil: z.iso.datetime().optional() });
const RedeliverAccepted = z.object({ id: z.string(), count: z.number().int() });
const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('stable error code, e.g. VALIDATION, UNAUTHORIZED, NOT_FOUND'),
    message: z.string().describe('for 400s, names the failing field: `body.destination.url: ...`'),
    details: z.unknown().optional(),
  }),
});
const Health = z.object({ status: z.string() });
const Cluster = z.object({
  instances: z.array(
    z.object({
      memberId: z.string(),
      clientId: z.string(),
      host: z.string(),
      partitions: z.array(z.number().int()).describe('partitions of <prefix>.assignments it holds'),
      follows: z.array(z.object({ connectionId: z.string(), orgId: z.string() })),
    }),
  ),
  lag: z.array(
    z.object({ group: z.string(), topic: z.string(), partition: z.number().int(), committed: z.string().nullable(), high: z.string(), lag: z.number().int() }),
  ),
  replay: z.array(
    z.object({
      kind: z.enum(['cdc', 'poll']),
      connectionId: z.string(),
      orgId: z.string().nullable(),
      channel: z.string().optional().describe('cdc: the channel; its replayId is the position'),
      replayId: z.string().optional(),
      object: z.string().optional().describe('poll: the object; systemModstamp is the cursor'),
      systemModstamp: z.iso.datetime().optional(),
      updatedAt: z.iso.datetime(),
    }),
  ),
  thisInstance: z.unknown().describe("the answering instance's ownership state, null before it joined"),
});
const list = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item) });

const SCHEMAS: Record<string, { schema: z.ZodType; io: 'input' | 'output' }> = {
  CreateConnection: { schema: CreateConnectionSchema, io: 'input' },
  ReauthorizeConnection: { schema: ReauthorizeConnectionSchema, io: 'input' },
  UpdateConnection: { schema: UpdateConnectionSchema, io: 'input' },
  CreateConnectSession: { schema: CreateConnectSessionSchema, io: 'input' },
  CreateSubscription: { schema: CreateSubscriptionSchema, io: 'input' },
  Redeliver: { schema: RedeliverSchema, io: 'input' },
  PutMapping: { schema: PutMappingSchema, io: 'input' },
  Mapping: { schema: Mapping, io: 'output' },
  MappingList: { schema: list(Mapping), io: 'output' },
  ConnectionCreated: { schema: ConnectionCreated, io: 'output' },
  Connection: { schema: Connection, io: 'output' },
  ConnectionList: { schema: list(Connection), io: 'output' },
  CreateApiKey: { schema: CreateApiKeySchema, io: 'input' },
  ConnectSessionCreated: { schema: ConnectSessionCreated, io: 'output' },
  ConnectSession: { schema: ConnectSession, io: 'output' },
  ApiKey: { schema: ApiKey, io: 'output' },
  ApiKeyCreated: { schema: ApiKeyCreated, io: 'output' },
  ApiKeyList: { schema: list(ApiKey), io: 'output' },
  Subscription: { schema: SubscriptionWithDelivery, io: 'output' },
  SubscriptionCreated: { schema: SubscriptionCreated, io: 'output' },
  SubscriptionList: { schema: list(SubscriptionWithDelivery), io: 'output' },
  EventList: { schema: EventList, io: 'output' },
  Cluster: { schema: Cluster, io: 'output' },
  AttemptList: { schema: AttemptList, io: 'output' },
  RotatedSecret: { schema: RotatedSecret, io: 'output' },
  RedeliverAccepted: { schema: RedeliverAccepted, io: 'output' },
  Error: { schema: ErrorBody, io: 'output' },
  Health: { schema: Health, io: 'output' },
  ForcehookEvent: { schema: forcehookEventSchema, io: 'output' },
};

/** zod emits shared (meta-id'd) schemas as local `$defs`; OpenAPI wants them under components. */
function hoist(node: unknown, defs: Json): unknown {
  if (Array.isArray(node)) return node.map((n) => hoist(n, defs));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$schema' || k === '$id') continue;
    if (k === '$defs') {
      for (const [name, def] of Object.entries(v as Json)) defs[name] = hoist(def, defs);
      continue;
    }
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace(/^#\/\$defs\//, '#/components/schemas/') : hoist(v, defs);
  }
  return out;
}

function componentSchemas(): Json {
  const defs: Json = {};
  for (const [name, { schema, io }] of Object.entries(SCHEMAS)) {
    // Refinements (cross-field rules) are runtime-only; the document states the shape.
    const converted = hoist(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }), defs) as Json;
    // A schema with its own meta id comes back as a $ref to its hoisted self.
    if (converted.$ref !== `#/components/schemas/${name}`) defs[name] = converted;
  }
  return defs;
}

const ref = (name: keyof typeof SCHEMAS & string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof SCHEMAS & string) => ({ content: { 'application/json': { schema: ref(name) } } });
const errorResponse = (description: string) => ({ description, ...json('Error') });
const idParam = (what: string) => ({ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: `${what} id` });

const authErrors = {
  '401': errorResponse('missing or wrong bearer token'),
  '403': errorResponse('an API key whose scopes do not allow this (a read key may only GET)'),
  '503': errorResponse('state is still loading from Kafka'),
};
const bodyErrors = { '400': errorResponse('invalid body; the message names the field'), '413': errorResponse('body too large') };
const notFound = { '404': errorResponse('unknown id') };

function op(summary: string, extra: Json): Json {
  return { summary, ...extra };
}

/** Query parameters from a zod object schema: the same one the route parses with. */
function queryParams(schema: z.ZodObject): Json[] {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, Json> };
  return Object.entries(json.properties ?? {}).map(([name, sch]) => {
    const { description, ...rest } = sch;
    return { name, in: 'query', required: false, schema: rest, ...(description ? { description } : {}) };
  });
}

function paths(): Json {
  const secured = { security: [{ bearerAuth: [] }] };
  const pub = { security: [] };
  return {
    '/v1/connections': {
      post: op('Connect a Salesforce org with a refresh token (validated against the org first)', {
        ...secured,
        tags: ['connections'],
        requestBody: { required: true, ...json('CreateConnection') },
        responses: {
          '201': { description: 'connected', ...json('ConnectionCreated') },
          '409': errorResponse('the org already has a connection (details.connectionId): re-authorize it with PUT /v1/connections/{id}/credentials'),
          ...bodyErrors,
          ...authErrors,
        },
      }),
      get: op('List connections', {
        ...secured,
        tags: ['connections'],
        responses: { '200': { description: 'connections', ...json('ConnectionList') }, ...authErrors },
      }),
    },
    '/v1/connections/{id}': {
      parameters: [idParam('connection')],
      get: op('A connection, its subscriber state and per object cdc/polling mode', {
        ...secured,
        tags: ['connections'],
        responses: { '200': { description: 'the connection', ...json('Connection') }, ...notFound, ...authErrors },
      }),
      patch: op("Set or clear (null: the service default) how the org's CDC is followed; a running subscriber restarts from its checkpoint", {
        ...secured,
        tags: ['connections'],
        requestBody: { required: true, ...json('UpdateConnection') },
        responses: { '200': { description: 'the connection', ...json('Connection') }, ...notFound, ...bodyErrors, ...authErrors },
      }),
      delete: op('Stop following the org; removes its subscriptions and checkpoints', {
        ...secured,
        tags: ['connections'],
        responses: { '204': { description: 'deleted' }, ...notFound, ...authErrors },
      }),
    },
    '/v1/connections/{id}/mappings': {
      parameters: [idParam('connection')],
      get: op("The connection's field mappings, each checked against the org's describe now (fields it no longer has: `missing`)", {
        ...secured,
        tags: ['connections'],
        responses: { '200': { description: 'the mappings', ...json('MappingList') }, ...notFound, ...authErrors },
      }),
    },
    '/v1/connections/{id}/mappings/{name}': {
      parameters: [idParam('connection'), { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'the mapping name' }],
      put: op("Create or replace a named field mapping, checked against the org's describe", {
        ...secured,
        tags: ['connections'],
        requestBody: { required: true, ...json('PutMapping') },
        responses: {
          '200': { description: 'replaced (subscriptions naming it follow)', ...json('Mapping') },
          '201': { description: 'created', ...json('Mapping') },
          '409': errorResponse('subscriptions use it and the object would change'),
          ...notFound,
          ...bodyErrors,
          ...authErrors,
        },
      }),
      get: op('One field mapping', {
        ...secured,
        tags: ['connections'],
        responses: { '200': { description: 'the mapping', ...json('Mapping') }, ...notFound, ...authErrors },
      }),
      delete: op('Delete a field mapping no subscription names', {
        ...secured,
        tags: ['connections'],
        responses: { '204': { description: 'deleted' }, '409': errorResponse('subscriptions use it'), ...notFound, ...authErrors },
      }),
    },
    '/v1/connections/{id}/credentials': {
      parameters: [idParam('connection')],
      put: op('Re-authorize the connection with a new refresh token (and optionally another OAuth app) of the same org', {
        ...secured,
        tags: ['connections'],
        requestBody: { required: true, ...json('ReauthorizeConnection') },
        responses: {
          '200': { description: 're-authorized', ...json('Connection') },
          '409': errorResponse('the token belongs to another org'),
          ...notFound,
          ...bodyErrors,
          ...authErrors,
        },
      }),
    },
    '/v1/connect-sessions': {
      post: op('Start the OAuth web-server flow', {
        ...secured,
        tags: ['connections'],
        requestBody: { required: true, ...json('CreateConnectSession') },
        responses: { '201': { description: 'send the user to authorizeUrl', ...json('ConnectSessionCreated') }, ...bodyErrors, ...notFound, ...authErrors },
      }),
    },
    '/v1/connect-sessions/{id}': {
      parameters: [idParam('connect session')],
      get: op('Where a connect session stands: pending, completed (with connectionId), failed (with error) or expired', {
        ...secured,
        tags: ['connections'],
        responses: { '200': { description: 'the session', ...json('ConnectSession') }, ...notFound, ...authErrors },
      }),
    },
    '/v1/api-keys': {
      post: op('Create a named API key (admin token only); the key is shown once', {
        ...secured,
        tags: ['api-keys'],
        requestBody: { required: true, ...json('CreateApiKey') },
        responses: { '201': { description: 'created', ...json('ApiKeyCreated') }, ...bodyErrors, ...authErrors },
      }),
      get: op('List API keys, without key material (admin token only)', {
        ...secured,
        tags: ['api-keys'],
        responses: { '200': { description: 'keys', ...json('ApiKeyList') }, ...authErrors },
      }),
    },
    '/v1/api-keys/{id}': {
      parameters: [idParam('API key')],
      delete: op('Revoke an API key on every instance (admin token only)', {
        ...secured,
        tags: ['api-keys'],
        responses: { '204': { description: 'revoked' }, ...notFound, ...authErrors },
      }),
    },
    '/oauth/callback': {
      get: op('Salesforce redirects the browser here; creates the connection', {
        ...pub,
        tags: ['connections'],
        parameters: [
          { name: 'state', in: 'query', required: true, schema: { type: 'string' }, description: 'sealed, single-use, 10 min' },
          { name: 'code', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'error', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'error_description', in: 'query', required: false, schema: { type: 'string' } },
        ],
        responses: {
          '201': { description: 'connected (no returnUrl)', ...json('ConnectionCreated') },
          '303': { description: 'redirect to returnUrl with connectSessionId and connectionId and orgId, or error and error_description' },
          '400': errorResponse('invalid, expired or already redeemed state (on any instance); authorization refused'),
          '409': errorResponse('org_mismatch: re-authorizing a connection with a grant for another org'),
        },
      }),
    },
    '/v1/subscriptions': {
      post: op('Subscribe a destination (webhook or workflow) to a trigger', {
        ...secured,
        tags: ['subscriptions'],
        requestBody: { required: true, ...json('CreateSubscription') },
        responses: {
          '201': { description: 'subscribed; webhooks get their secret once', ...json('SubscriptionCreated') },
          ...bodyErrors,
          '400': errorResponse('invalid body, or an object or field the org does not have; the message names the field'),
          '409': errorResponse('the connection needs re-authorization: the object cannot be checked against its org'),
          ...authErrors,
          '503': errorResponse('state is still loading from Kafka, or the org could not be asked; retry shortly'),
        },
      }),
      get: op('List subscriptions', {
        ...secured,
        tags: ['subscriptions'],
        responses: { '200': { description: 'subscriptions', ...json('SubscriptionList') }, ...authErrors },
      }),
    },
    '/v1/subscriptions/{id}': {
      parameters: [idParam('subscription')],
      get: op('A subscription and its delivery state', {
        ...secured,
        tags: ['subscriptions'],
        responses: { '200': { description: 'the subscription', ...json('Subscription') }, ...notFound, ...authErrors },
      }),
      delete: op('Delete a subscription', {
        ...secured,
        tags: ['subscriptions'],
        responses: { '204': { description: 'deleted' }, ...notFound, ...authErrors },
      }),
    },
    '/v1/subscriptions/{id}/rotate-secret': {
      parameters: [idParam('subscription')],
      post: op('New webhook signing secret; the old ones keep signing for 24 h', {
        ...secured,
        tags: ['subscriptions'],
        responses: {
          '200': { description: 'the new secret, shown once', ...json('RotatedSecret') },
          '400': errorResponse('not a webhook subscription'),
          ...notFound,
          ...authErrors,
        },
      }),
    },
    '/v1/subscriptions/{id}/redeliver': {
      parameters: [idParam('subscription')],
      post: op("Redeliver the subscription's dead letters, or its events of a time range", {
        ...secured,
        tags: ['subscriptions'],
        requestBody: { required: true, ...json('Redeliver') },
        responses: { '202': { description: 'queued', ...json('RedeliverAccepted') }, ...bodyErrors, ...notFound, ...authErrors },
      }),
    },
    '/v1/subscriptions/{id}/pause': {
      parameters: [idParam('subscription')],
      post: op('Pause deliveries on every instance; events are kept (uncommitted) and delivered after resume, in order per record', {
        ...secured,
        tags: ['subscriptions'],
        responses: { '200': { description: 'paused', ...json('Subscription') }, ...notFound, ...authErrors },
      }),
    },
    '/v1/subscriptions/{id}/resume': {
      parameters: [idParam('subscription')],
      post: op('Resume deliveries: the events kept while paused go out first', {
        ...secured,
        tags: ['subscriptions'],
        responses: { '200': { description: 'resumed', ...json('Subscription') }, ...notFound, ...authErrors },
      }),
    },
    '/v1/subscriptions/{id}/deliveries': {
      parameters: [idParam('subscription'), ...queryParams(DeliveriesQuerySchema)],
      get: op('The attempt log: every attempt (and dead letter) of the subscription, newest first, kept 7 days', {
        ...secured,
        tags: ['subscriptions'],
        responses: { '200': { description: 'attempts', ...json('AttemptList') }, '400': errorResponse('invalid query'), ...notFound, ...authErrors },
      }),
    },
    '/v1/events': {
      get: op('Recent events of <prefix>.events, newest first, read by time and stopped at limit', {
        ...secured,
        tags: ['events'],
        parameters: queryParams(EventsQuerySchema),
        responses: { '200': { description: 'events', ...json('EventList') }, '400': errorResponse('invalid query'), ...authErrors },
      }),
    },
    '/v1/events/stream': {
      get: op('Live events (Server-Sent Events): one structured CloudEvent per `data:` line, from now on', {
        ...secured,
        tags: ['events'],
        parameters: queryParams(EventFilterSchema),
        responses: {
          '200': { description: 'an event stream; comment lines keep it open', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          '400': errorResponse('invalid query'),
          ...authErrors,
        },
      }),
    },
    '/v1/cluster': {
      get: op(
        'The deployment: instances (members of <prefix>.owners) and the orgs each follows, the dispatcher group lag per partition, replay positions per org',
        {
          ...secured,
          tags: ['operations'],
          responses: { '200': { description: 'the cluster', ...json('Cluster') }, ...authErrors },
        },
      ),
    },
    '/v1/me': {
      get: op('Who the bearer token is and what it may do', {
        ...secured,
        tags: ['operations'],
        responses: {
          '200': {
            description: 'the principal',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    kind: { enum: ['admin', 'key'] },
                    id: { type: 'string' },
                    scopes: { type: 'array', items: { enum: ['read', 'write'] } },
                    manageKeys: { type: 'boolean' },
                  },
                  required: ['kind', 'scopes', 'manageKeys'],
                },
              },
            },
          },
          ...authErrors,
        },
      }),
    },
    '/console': {
      get: op('The operator console (HTML); it signs in with an API key and calls this API', {
        ...pub,
        tags: ['operations'],
        responses: {
          '200': { description: 'the console', content: { 'text/html': { schema: { type: 'string' } } } },
          '503': { description: 'the console was not built (npm run build:console)' },
        },
      }),
    },
    '/console/login': {
      post: op('Trade a one-time sign-in token (from a link `npm start` prints) for its key', {
        ...pub,
        tags: ['operations'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } },
        },
        responses: {
          '200': { description: 'the key', content: { 'application/json': { schema: { type: 'object', properties: { key: { type: 'string' } } } } } },
          '400': errorResponse('no token'),
          '401': errorResponse('unknown, used or expired token'),
        },
      }),
    },
    '/healthz': {
      get: op('Liveness: 200 while the process runs', { ...pub, tags: ['operations'], responses: { '200': { description: 'alive', ...json('Health') } } }),
    },
    '/readyz': {
      get: op('Readiness: Kafka answers and state is loaded', {
        ...pub,
        tags: ['operations'],
        responses: { '200': { description: 'ready', ...json('Health') }, '503': { description: 'not ready', ...json('Health') } },
      }),
    },
    '/metrics': {
      get: op('Prometheus metrics (Authorization: Bearer <FORCEHOOK_METRICS_TOKEN> when that is set)', {
        ...pub,
        tags: ['operations'],
        responses: {
          '200': { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } },
          '401': errorResponse('FORCEHOOK_METRICS_TOKEN is set and the request does not carry it'),
        },
      }),
    },
    '/openapi.json': {
      get: op('This document', {
        ...pub,
        tags: ['operations'],
        responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } },
      }),
    },
  };
}

export function buildOpenApiDocument(opts: { version?: string; serverUrl?: string } = {}): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'forcehook',
      version: opts.version ?? '0.1.0',
      description:
        'Salesforce triggers (Change Data Capture, polling fallback) as CloudEvents on Kafka, delivered as signed webhooks and workflows. ' +
        'Errors are `{"error":{"code","message","details"?}}`. Events (webhook bodies, Kafka values) follow the `ForcehookEvent` schema.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    security: [{ bearerAuth: [] }],
    tags: [{ name: 'connections' }, { name: 'subscriptions' }, { name: 'events' }, { name: 'api-keys' }, { name: 'operations' }],
    paths: paths(),
    webhooks: {
      event: {
        post: {
          summary: 'A delivery to a webhook destination (Standard Webhooks signature headers)',
          parameters: [
            { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' }, description: 'the event id; deduplicate on it' },
            { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string' } },
            { name: 'webhook-signature', in: 'header', required: true, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'application/cloudevents+json': { schema: ref('ForcehookEvent') } } },
          responses: { '2XX': { description: 'delivered' }, '410': { description: 'disables the subscription' } },
        },
      },
    },
    components: {
      schemas: componentSchemas(),
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'FORCEHOOK_API_TOKEN (admin) or an API key' } },
    },
  };
}
