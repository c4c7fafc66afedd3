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

export interface LogOptions {
  level?: string;
  name?: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const options = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { name: opts.name ?? 'forcehook' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** The logger tests get: silent unless LOG_LEVEL asks otherwise. */
export function testLogger(): Logger {
  return createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });
}
