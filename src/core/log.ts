import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. Secrets reach
 * logs most often through request headers, config dumps and error `details`.
 */
export const REDACT_PATHS = [
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.headers.authorization',
  'accessToken',
  'refreshToken',
  'clientSecret',
  'secret',
  'password',
  'apiToken',
  'secretKey',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.secret',
  '*.password',
  '*.apiToken',
  '*.secretKey',
];

/**
 * Path redaction stops at the depths listed above, but an error carries whatever
 * its thrower attached (`details`, a `cause`, an HTTP client's request config) at
 * any depth. Logged errors are therefore copied with every value under a
 * secret-looking key replaced, however deep.
 */
const SECRET_KEY = /^(authorization|cookie|set-cookie|token|(access|refresh|id|api)[_-]?token|client[_-]?secret|secret|secret[_-]?key|password)$/i;
const CENSOR = '[redacted]';

export function scrubSecrets(value: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 10) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, seen, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? CENSOR : scrubSecrets(v, seen, depth + 1);
  return out;
}

const errSerializer = (e: unknown): unknown => scrubSecrets(e instanceof Error ? pino.stdSerializers.err(e) : e);

export interface LogOptions {
  level?: string;
  name?: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const options = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { name: opts.name ?? 'forcehook' },
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    serializers: { err: errSerializer, error: errSerializer },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** The logger tests get: silent unless LOG_LEVEL asks otherwise. */
export function testLogger(): Logger {
  return createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });
}

/**
 * Node's process warnings (a listener leak, a deprecation) go to the log, with
 * the stack of the call that caused them: Node prints them to stderr without
 * one unless started with --trace-warnings, and a leak cannot be traced then.
 */
export function logProcessWarnings(logger: Logger): () => void {
  const onWarning = (w: Error): void => logger.warn({ warning: { name: w.name, message: w.message, stack: w.stack } }, 'process warning');
  process.on('warning', onWarning);
  return () => process.off('warning', onWarning);
}
