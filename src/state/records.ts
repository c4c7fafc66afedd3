import { z } from 'zod';
import type { SealedPlace } from '../core/secrets.js';
import { TRIGGERS } from '../events/schema.js';

/**
 * What the service keeps in its compacted state topic. Records are the durable
 * truth shared by every instance; secrets inside them are sealed (SecretBox) and
 * never leave the process unsealed except toward Salesforce or the receiver.
 */
export const CONNECTION_STATUSES = ['active', 'needs_reauth'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const ConnectionRecordSchema = z.object({
  id: z.string().min(1),
  orgId: z.string().regex(/^[a-zA-Z0-9]{18}$/),
  userId: z.string().optional(),
  loginUrl: z.url(),
  instanceUrl: z.url(),
  clientId: z.string().min(1),
  /** Sealed with FORCEHOOK_SECRET_KEY. */
  clientSecret: z.string().min(1),
  /** Sealed with FORCEHOOK_SECRET_KEY. Replaced in place when the org rotates refresh tokens. */
  refreshToken: z.string().min(1),
  /**
   * Sealed: the newest access token, so that any instance can use the org's session
   * without refreshing it (only the org's owner refreshes; see salesforce/tokens.ts).
   */
  accessToken: z.string().min(1).optional(),
  /** When the tokens were last refreshed (or first obtained). */
  tokenRefreshedAt: z.iso.datetime().optional(),
  /**
   * Changes only when someone authorizes the connection anew; a rotated refresh
   * token is the same grant. Absent on records written before it existed.
   */
  grantId: z.string().min(1).optional(),
  /** How this org's CDC is followed; absent: the service's FORCEHOOK_CDC_TRANSPORT. */
  cdcTransport: z.enum(['cometd', 'pubsub']).optional(),
  status: z.enum(CONNECTION_STATUSES),
  statusReason: z.string().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ConnectionRecord = z.infer<typeof ConnectionRecordSchema>;

/** Identifies the authorization behind a connection: sessions built from another one are stale. */
export function grantOf(c: ConnectionRecord): string {
  return c.grantId ?? 'initial';
}

/**
 * An instance that does not own an org asks the owner for a new access token:
 * `stale` fingerprints (never reveals) the token that stopped working.
 */
export const TokenRequestSchema = z.object({
  connectionId: z.string().min(1),
  stale: z.string(),
  requestedAt: z.iso.datetime(),
});
export type TokenRequest = z.infer<typeof TokenRequestSchema>;

export const DestinationSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('webhook'), url: z.url({ protocol: /^https?$/ }) }).strict(),
  z.object({ type: z.literal('workflow'), workflow: z.string().min(1).max(200) }).strict(),
]);
export type Destination = z.infer<typeof DestinationSchema>;

export const SubscriptionRecordSchema = z.object({
  id: z.string().min(1),
  connectionId: z.string().min(1),
  trigger: z.enum(TRIGGERS),
  object: z.string().optional(),
  campaignId: z.string().optional(),
  fields: z.array(z.string()).optional(),
  /** The connection's field mapping it names: `object` is the mapping's, `fields` are translated to field names. */
  mapping: z.string().optional(),
  /** The mapping's `{label: field}` when the subscription was made or the mapping last changed: events carry `data.mapped`. */
  mapped: z.record(z.string(), z.string()).optional(),
  destination: DestinationSchema,
  /** Sealed webhook secrets, newest first; an older one stays valid until `expiresAt`. */
  secrets: z.array(z.object({ sealed: z.string(), createdAt: z.iso.datetime(), expiresAt: z.iso.datetime().optional() })).optional(),
  /**
   * Set while an operator paused the subscription: its deliveries wait (their Kafka offsets stay
   * uncommitted) and go out, in order per record, once it is cleared. In the state topic, so every
   * instance's dispatcher sees it.
   */
  pausedAt: z.iso.datetime().optional(),
  createdAt: z.iso.datetime(),
});
export type SubscriptionRecord = z.infer<typeof SubscriptionRecordSchema>;

/**
 * How a subscription's deliveries go, beside (not inside) the subscription record:
 * the dispatcher writes it often (coalesced) and the API writes the subscription,
 * so keeping them apart means neither overwrites the other's fields. A record
 * without one is `active` with zero counters (backward compatible).
 */
export const DELIVERY_STATUSES = ['active', 'disabled'] as const;
export const DeliveryStateRecordSchema = z.object({
  subscriptionId: z.string().min(1),
  /** `disabled` after a 410 Gone; a redeliver request re-activates. */
  status: z.enum(DELIVERY_STATUSES),
  statusReason: z.string().optional(),
  attempts: z.number().int().nonnegative(),
  delivered: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  consecutiveFailures: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  lastAttemptAt: z.iso.datetime().optional(),
  lastSuccessAt: z.iso.datetime().optional(),
  /** Dead letters of this subscription not yet redelivered. */
  dlqCount: z.number().int().nonnegative(),
  /** Next DLQ offset per partition that `redeliver {dlq:true}` has not consumed yet. */
  dlqFrom: z.record(z.string(), z.string()).optional(),
  updatedAt: z.iso.datetime(),
});
export type DeliveryStateRecord = z.infer<typeof DeliveryStateRecordSchema>;

/**
 * One OAuth web-server flow, from `POST /v1/connect-sessions` to its callback.
 * `pending` until the instance whose claim came first (see ConnectSessionClaim)
 * writes `completed` or `failed`; `expired` is never stored (a pending session
 * past `expiresAt` reads as expired).
 */
export const CONNECT_SESSION_STATUSES = ['pending', 'completed', 'failed'] as const;
export const ConnectSessionRecordSchema = z.object({
  id: z.string().min(1),
  status: z.enum(CONNECT_SESSION_STATUSES),
  loginUrl: z.url(),
  /** Absent until the end user enters their own OAuth app on the connect page (no default app, `allowUserOAuth`). */
  clientId: z.string().min(1).optional(),
  /** Sealed. */
  clientSecret: z.string().min(1).optional(),
  /** Sealed PKCE verifier: only the token exchange may show it, after the browser brought the code. */
  codeVerifier: z.string().min(1),
  /** The `redirect_uri` of the authorize request: the token exchange must repeat it, from whichever instance. */
  redirectUri: z.url(),
  returnUrl: z.url().optional(),
  /** Pending: the connection to re-authorize, if any. Completed: the connection made or re-authorized. */
  connectionId: z.string().min(1).optional(),
  orgId: z.string().optional(),
  /** What the hosted connect page offers: the user's own OAuth app, installing a package first, mappings to choose. */
  allowUserOAuth: z.boolean().optional(),
  packageInstallUrl: z.url().optional(),
  mappings: z.array(z.object({ name: z.string(), object: z.string().optional(), labels: z.array(z.string()) })).optional(),
  /** The environment asked for (the page preselects it). */
  environment: z.enum(['production', 'sandbox']).optional(),
  /** When the page link was first opened: the link works once, the browser keeps a cookie for the rest. */
  pageOpenedAt: z.iso.datetime().optional(),
  /** The user went to Salesforce from the connect page: the callback sends them back to it. */
  viaPage: z.boolean().optional(),
  /** Failed: a short code (`access_denied`, `app_not_installed`, `org_mismatch`, `invalid_grant`, ...). */
  error: z.string().optional(),
  errorDescription: z.string().optional(),
  expiresAt: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type ConnectSessionRecord = z.infer<typeof ConnectSessionRecordSchema>;

/**
 * An instance's bid to redeem a connect session's callback. Every claim has its
 * own key, so compaction keeps all of them and their order in the log: the
 * first claim in log order wins, on every instance and after a restart.
 */
export const ConnectSessionClaimSchema = z.object({
  sessionId: z.string().min(1),
  claimId: z.string().min(1),
  instanceId: z.string().optional(),
  claimedAt: z.iso.datetime(),
});
export type ConnectSessionClaim = z.infer<typeof ConnectSessionClaimSchema>;

/** `read` may only GET; `write` adds every other method (key management stays with the admin token). */
export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export const ApiKeyRecordSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  name: z.string().min(1).max(200),
  scopes: z.array(z.enum(API_KEY_SCOPES)).min(1),
  /** SHA-256 (hex) of the key's secret part: the key itself is shown once and never stored. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
});
export type ApiKeyRecord = z.infer<typeof ApiKeyRecordSchema>;

/**
 * A named field mapping of a connection's org: the SaaS's labels for fields of one object. Beside the
 * connection record (not inside it), so that re-authorizing a connection, which rewrites its record,
 * cannot drop them.
 */
export const MappingRecordSchema = z.object({
  connectionId: z.string().min(1),
  name: z.string().min(1),
  object: z.string().min(1),
  fields: z.record(z.string(), z.string()),
  /** Fields the org no longer has, as last checked against its describe (a warning on the connection). */
  missing: z.array(z.string()).optional(),
  checkedAt: z.iso.datetime().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type MappingRecord = z.infer<typeof MappingRecordSchema>;

export const StateRecordSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mapping'), mapping: MappingRecordSchema }),
  z.object({ kind: z.literal('connection'), connection: ConnectionRecordSchema }),
  z.object({ kind: z.literal('subscription'), subscription: SubscriptionRecordSchema }),
  z.object({ kind: z.literal('delivery'), delivery: DeliveryStateRecordSchema }),
  z.object({ kind: z.literal('tokenRequest'), tokenRequest: TokenRequestSchema }),
  z.object({ kind: z.literal('connectSession'), connectSession: ConnectSessionRecordSchema }),
  z.object({ kind: z.literal('connectSessionClaim'), claim: ConnectSessionClaimSchema }),
  z.object({ kind: z.literal('apiKey'), apiKey: ApiKeyRecordSchema }),
]);
export type StateRecord = z.infer<typeof StateRecordSchema>;

/** Where each sealed field of a record lives (SecretBox binds a sealed value to it). */
export const sealedPlace = {
  connection: (id: string, field: 'clientSecret' | 'refreshToken' | 'accessToken'): SealedPlace => ({ kind: 'connection', id, field }),
  webhookSecret: (subscriptionId: string): SealedPlace => ({ kind: 'subscription', id: subscriptionId, field: 'webhookSecret' }),
};

export const stateKey = {
  connection: (id: string) => `connection:${id}`,
  subscription: (id: string) => `subscription:${id}`,
  delivery: (subscriptionId: string) => `delivery:${subscriptionId}`,
  tokenRequest: (connectionId: string) => `token-request:${connectionId}`,
  connectSession: (id: string) => `connect-session:${id}`,
  connectSessionClaim: (sessionId: string, claimId: string) => `connect-session-claim:${sessionId}:${claimId}`,
  apiKey: (id: string) => `api-key:${id}`,
  mapping: (connectionId: string, name: string) => `mapping:${connectionId}:${name}`,
};

/**
 * Positions in Salesforce, in the compacted checkpoints topic. A CDC position
 * is written only after Kafka acknowledged every event up to it.
 */
export const CheckpointSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('cdc'),
    connectionId: z.string(),
    channel: z.string(),
    /** Decimal string: replay ids are opaque and may grow past 2^53. */
    replayId: z.string(),
    /** Commit time of the last event acked: where a gap reconcile starts. */
    commitTimestamp: z.number(),
    updatedAt: z.iso.datetime(),
  }),
  z.object({
    kind: z.literal('poll'),
    connectionId: z.string(),
    object: z.string(),
    /** (SystemModstamp, Id) of the last row published: rows after it are new. */
    systemModstamp: z.number(),
    lastId: z.string(),
    /** End of the last getDeleted window checked. */
    deletedUntil: z.number(),
    updatedAt: z.iso.datetime(),
  }),
  z.object({
    kind: z.literal('reconcile'),
    connectionId: z.string(),
    object: z.string(),
    /** Start of the window still to read back (an overflow's commit minus the overlap margin). */
    sinceMs: z.number(),
    /** How far the read got: rows after (since, afterId) are left, or only getDeleted. */
    phase: z.enum(['rows', 'deleted']),
    since: z.number().optional(),
    afterId: z.string().optional(),
    updatedAt: z.iso.datetime(),
  }),
]);
export type Checkpoint = z.infer<typeof CheckpointSchema>;

export const checkpointKey = {
  cdc: (connectionId: string, channel: string) => `cdc:${connectionId}:${channel}`,
  poll: (connectionId: string, object: string) => `poll:${connectionId}:${object}`,
  reconcile: (connectionId: string, object: string) => `reconcile:${connectionId}:${object}`,
};
