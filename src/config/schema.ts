import { existsSync } from 'node:fs';
import { z } from 'zod';
import { commaList } from '../core/comma-list.js';
import { KAFKA_SECURITY_ENV, KafkaSecuritySchema } from '../kafka/security.js';
import { KafkaClientNameSchema } from '../kafka/client-name.js';
import { parseHostPatterns } from '../net/salesforce-hosts.js';
import { CONNECT_ENV, ConnectConfigSchema } from './connect.js';
import { parseSchedule } from './duration.js';

/**
 * The service configuration. Every key documents itself; `ENV` below maps the
 * environment variables (docs/configuration.md) onto these keys, so one error message
 * can name the setting the operator actually typed.
 */
const hostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port');

const schedule = z.union([z.string(), z.array(z.number().int().min(0))]).transform((v, ctx) => {
  if (Array.isArray(v)) return v;
  try {
    return parseSchedule(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

const base64Key = z
  .string()
  .min(1, 'required')
  .refine((v) => Buffer.from(v, 'base64').length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(v), 'must be base64 of exactly 32 bytes (try: openssl rand -base64 32)');

export const ConfigSchema = z
  .object({
    kafka: z
      .object({
        brokers: commaList(z.array(hostPort).min(1, 'required: at least one host:port')),
        clientId: z.string().min(1).default('forcehook'),
        topicPrefix: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only')
          .default('forcehook'),
        /**
         * Session timeout of the owners group (`<prefix>.owners`, scale-out): how long the coordinator
         * waits for a silent instance before handing its orgs to the others. Shorter: faster takeover
         * after a crash; but a busy instance whose heartbeats lag is fenced (and its orgs restarted)
         * for nothing. An instance fences itself 2 s before it. The broker accepts
         * group.min.session.timeout.ms (default 6 s) to group.max.session.timeout.ms (default 30 min).
         */
        ownersSessionTimeoutMs: z.coerce.number().int().min(6_000).max(1_800_000).default(30_000),
        /** The client library behind the Kafka port (see docs/configuration.md for how they compare). */
        client: KafkaClientNameSchema,
      })
      .extend(KafkaSecuritySchema.shape)
      .strict(),
    http: z
      .object({
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        host: z.string().min(1).default('127.0.0.1'),
        bodyLimit: z.string().default('256kb'),
      })
      .strict(),
    apiToken: z.string().min(16, 'required, at least 16 characters'),
    /** When set, `GET /metrics` needs `Authorization: Bearer <it>` (otherwise it is open, like /healthz). */
    metricsToken: z.string().min(1).optional(),
    secretKey: base64Key,
    /** Older secret keys, decrypt-only, while stored secrets still carry them (key rotation). */
    secretKeyPrevious: commaList(z.array(base64Key)).default([]),
    publicUrl: z.url().optional(),
    allowPrivateNetworks: bool.default(false),
    /**
     * Hosts besides Salesforce's own that a login URL, an instance URL and an identity URL may use
     * (http allowed): `*.example.com`, `127.0.0.1`, `*` for any. Tests and the demo list the emulator.
     */
    salesforceHosts: z
      .union([z.string(), z.array(z.string())])
      .transform((v, ctx) => {
        const parsed = parseHostPatterns(Array.isArray(v) ? v.join(',') : v);
        if ('bad' in parsed) {
          ctx.addIssue({ code: 'custom', message: `'${parsed.bad}' is not a host pattern (expected *.example.com, a host name, an IP address or *)` });
          return z.NEVER;
        }
        return parsed.patterns;
      })
      .default([]),
    retrySchedule: schedule.default([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
    pollIntervalS: z.coerce.number().int().min(1).default(30),
    /** How CDC is followed: the Streaming API (`cometd`, long polling) or the Pub/Sub API (`pubsub`, gRPC). */
    cdcTransport: z.enum(['cometd', 'pubsub']).default('cometd'),
    /** The Pub/Sub API endpoint, `host:port`, always TLS. */
    pubsubEndpoint: hostPort.default('api.pubsub.salesforce.com:7443'),
    /** A PEM file of a CA the Pub/Sub endpoint's certificate may chain to, besides the system's roots. */
    pubsubCaFile: z
      .string()
      .min(1)
      .refine((p) => existsSync(p), 'no such file')
      .optional(),
    /**
     * Refresh every connection's tokens at least this often, needed or not: a refresh token
     * with an idle limit ("expire if not used for n") would otherwise lapse under a healthy
     * stream that never needs a new session.
     */
    tokenRefreshIntervalS: z.coerce.number().int().min(1).default(86_400),
    /** Share of an org's daily API limit polling may spend. */
    pollBudgetShare: z.coerce.number().gt(0).max(1).default(0.1),
    workflows: z.array(z.string()).default([]),
    /**
     * What this instance runs: `source` follows orgs and publishes events, `delivery` runs
     * the dispatcher (fan-out of the events and every attempt). Both by default; split them to keep webhook work off the
     * event loop that publishes (each role scales out by its own consumer groups).
     */
    roles: commaList(z.array(z.enum(['source', 'delivery'])).min(1, 'at least one of source, delivery')).default(['source', 'delivery']),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Connecting orgs: the default OAuth app, login URLs, the package install URL, the connect page's branding. */
    connect: ConnectConfigSchema.prefault({}),
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Environment variable → path in the config object. */
export const ENV: Readonly<Record<string, readonly string[]>> = {
  KAFKA_BROKERS: ['kafka', 'brokers'],
  FORCEHOOK_HTTP_PORT: ['http', 'port'],
  FORCEHOOK_HTTP_HOST: ['http', 'host'],
  FORCEHOOK_API_TOKEN: ['apiToken'],
  FORCEHOOK_METRICS_TOKEN: ['metricsToken'],
  FORCEHOOK_SECRET_KEY: ['secretKey'],
  FORCEHOOK_SECRET_KEY_PREVIOUS: ['secretKeyPrevious'],
  FORCEHOOK_TOPIC_PREFIX: ['kafka', 'topicPrefix'],
  FORCEHOOK_OWNERS_SESSION_TIMEOUT_MS: ['kafka', 'ownersSessionTimeoutMs'],
  FORCEHOOK_KAFKA_CLIENT: ['kafka', 'client'],
  FORCEHOOK_PUBLIC_URL: ['publicUrl'],
  FORCEHOOK_ALLOW_PRIVATE_NETWORKS: ['allowPrivateNetworks'],
  FORCEHOOK_SALESFORCE_HOSTS: ['salesforceHosts'],
  FORCEHOOK_RETRY_SCHEDULE: ['retrySchedule'],
  FORCEHOOK_POLL_INTERVAL_S: ['pollIntervalS'],
  FORCEHOOK_CDC_TRANSPORT: ['cdcTransport'],
  FORCEHOOK_PUBSUB_ENDPOINT: ['pubsubEndpoint'],
  FORCEHOOK_PUBSUB_CA_FILE: ['pubsubCaFile'],
  FORCEHOOK_TOKEN_REFRESH_INTERVAL_S: ['tokenRefreshIntervalS'],
  FORCEHOOK_ROLES: ['roles'],
  LOG_LEVEL: ['logLevel'],
  ...CONNECT_ENV,
  ...Object.fromEntries(Object.entries(KAFKA_SECURITY_ENV).map(([name, path]) => [name, ['kafka', ...path]])),
};
