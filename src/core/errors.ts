/**
 * The one error hierarchy of forcehook. Every error that crosses a module
 * boundary is a ForcehookError: a stable `code` callers can switch on, whether a
 * retry may help (`retriable`), and the underlying `cause`.
 *
 * Third-party failures (HTTP statuses, Salesforce error codes, Kafka errors) are
 * mapped into this hierarchy in one place each (see `fromHttpStatus`), so the
 * retry primitive never has to guess.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  /** Authenticated, but the key's scopes do not allow this request. */
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'CONFLICT'
  | 'FORBIDDEN_DESTINATION'
  | 'KAFKA'
  | 'KAFKA_UNAVAILABLE'
  /** The brokers refused this client's credentials or TLS trust: waiting will not help. */
  | 'KAFKA_AUTH'
  | 'BROKER_START'
  | 'SALESFORCE'
  | 'SALESFORCE_AUTH'
  | 'SALESFORCE_REAUTH_REQUIRED'
  | 'SALESFORCE_LIMIT'
  | 'SALESFORCE_REPLAY_INVALID'
  | 'STREAMING'
  | 'DELIVERY'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'ILLEGAL_TRANSITION'
  | 'INTERNAL';

export interface ErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  details?: unknown;
  /** HTTP status to answer with when this error reaches the API. */
  status?: number;
}

export class ForcehookError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: unknown;
  readonly status: number;

  constructor(code: ErrorCode, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details;
    this.status = opts.status ?? 500;
  }
}

export class ConfigError extends ForcehookError {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super('CONFIG_INVALID', `${setting}: ${message}`);
  }
}

export class ValidationError extends ForcehookError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION', message, { status: 400, details });
  }
}

export class NotFoundError extends ForcehookError {
  constructor(message: string) {
    super('NOT_FOUND', message, { status: 404 });
  }
}

export class UnauthorizedError extends ForcehookError {
  constructor(message = 'missing or invalid bearer token') {
    super('UNAUTHORIZED', message, { status: 401 });
  }
}

export class ForbiddenError extends ForcehookError {
  constructor(message: string) {
    super('FORBIDDEN', message, { status: 403 });
  }
}

/** An operation that will not succeed by being repeated (bad input, revoked grant, ...). */
export class TerminalError extends ForcehookError {
  constructor(code: ErrorCode, message: string, opts: Omit<ErrorOptions, 'retriable'> = {}) {
    super(code, message, { ...opts, retriable: false });
  }
}

/** A transient failure: a retry with backoff may succeed. */
export class TransientError extends ForcehookError {
  /** Milliseconds the other side asked us to wait (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined;
  constructor(code: ErrorCode, message: string, opts: Omit<ErrorOptions, 'retriable'> & { retryAfterMs?: number } = {}) {
    super(code, message, { ...opts, retriable: true });
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Programmer errors are never worth retrying, whatever wraps them. */
const PROGRAMMER_ERRORS = [TypeError, ReferenceError, SyntaxError, RangeError];

export function isRetriable(err: unknown): boolean {
  if (err instanceof ForcehookError) return err.retriable;
  if (PROGRAMMER_ERRORS.some((E) => err instanceof E)) return false;
  // Unknown errors (sockets reset, DNS hiccups) are retried: bounded by the policy.
  return true;
}

/**
 * A remote's error code that no mapping lists (details.unclassified): retried, but only as often as the
 * caller's policy says, never by a loop that otherwise waits for ever.
 */
export function isUnclassified(err: unknown): boolean {
  const d = err instanceof ForcehookError ? (err.details as { unclassified?: unknown } | undefined) : undefined;
  return d?.unclassified === true;
}

/** Neither refused for good nor an unknown code: worth waiting for without a cap. */
export function isKnownTransient(err: unknown): boolean {
  return isRetriable(err) && !isUnclassified(err);
}

/** Maps an HTTP status from a remote into the hierarchy (the single table for statuses). */
export function fromHttpStatus(
  status: number,
  message: string,
  opts: { code?: ErrorCode; retryAfterMs?: number; cause?: unknown; details?: unknown } = {},
): ForcehookError {
  const code = opts.code ?? 'DELIVERY';
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return new TransientError(code, message, opts);
  }
  return new TerminalError(code, message, opts);
}

/** The words our own re-authorization errors use (the OAuth error code, and the message of a connection waiting for one). */
const REAUTH_WORDS = /invalid_grant|needs re-authorization/;

/**
 * Only a person re-authorizing the connection helps: its grant is gone, or a re-authorization is
 * pending. Our errors are judged by their code, whatever class carries it. jsforce re-throws a
 * failed session refresh as a plain Error that keeps only the message ("Unable to refresh session
 * due to: …"), so an error that is not ours is judged by the words ours use.
 */
export function isReauthRequired(err: unknown): err is Error {
  if (err instanceof ForcehookError) return err.code === 'SALESFORCE_REAUTH_REQUIRED';
  return err instanceof Error && REAUTH_WORDS.test(err.message);
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
