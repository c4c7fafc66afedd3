import { ForcehookError, type ErrorCode } from '../../core/errors.js';

/**
 * The single table from @platformatic/kafka failures to forcehook codes (see the
 * kafkajs one for what the codes mean). Its errors are a tree: a MultipleErrors
 * (one per broker or partition) holds GenericErrors whose `apiId` is the Kafka
 * protocol error; the leaves decide the code.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);
const UNAVAILABLE_IDS: ReadonlySet<string> = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_OR_FOLLOWER',
  'BROKER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
]);
const AUTH_IDS: ReadonlySet<string> = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);
const TLS_TRUST =
  /self[- ]signed certificate|unable to (verify|get local issuer)|certificate (has expired|is not yet valid)|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME_INVALID|wrong version number/i;

interface PltLike {
  code?: string;
  apiId?: string;
  message?: string;
  canRetry?: boolean;
  errors?: unknown[];
  cause?: unknown;
}

function isPltError(err: unknown): err is Error & PltLike {
  return err instanceof Error && typeof (err as PltLike).code === 'string' && (err as PltLike).code!.startsWith('PLT_KFK_');
}

/** The error and everything under it (nested errors and causes), depth-first, bounded. */
function flatten(err: unknown, out: (Error & PltLike)[] = [], depth = 0): (Error & PltLike)[] {
  if (depth > 6 || !(err instanceof Error)) return out;
  out.push(err as Error & PltLike);
  for (const e of (err as PltLike).errors ?? []) flatten(e, out, depth + 1);
  if ((err as PltLike).cause !== err) flatten((err as PltLike).cause, out, depth + 1);
  return out;
}

function codeOf(all: (Error & PltLike)[]): ErrorCode {
  if (all.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || AUTH_IDS.has(e.apiId ?? '') || TLS_TRUST.test(e.message ?? ''))) return 'KAFKA_AUTH';
  if (
    all.some(
      (e) =>
        UNAVAILABLE_CODES.has(e.code ?? '') ||
        UNAVAILABLE_IDS.has(e.apiId ?? '') ||
        /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH/.test(e.message ?? ''),
    )
  )
    return 'KAFKA_UNAVAILABLE';
  return 'KAFKA';
}

/** The most telling message: the deepest protocol error, else the innermost one. */
function detailOf(all: (Error & PltLike)[]): string {
  const proto = all.find((e) => e.apiId);
  if (proto) return `${proto.apiId}: ${proto.message}`;
  const last = all[all.length - 1]!;
  return last === all[0] ? last.message : `${all[0]!.message} (${last.message})`;
}

/**
 * Wraps anything a @platformatic/kafka call threw. A refusal of who we are is
 * never retriable; an unreachable cluster always is; otherwise the client's own
 * `canRetry` on the leaves decides.
 */
export function mapPlatformaticError(err: unknown, context?: string): ForcehookError {
  if (err instanceof ForcehookError) return err;
  const prefix = context ? `${context}: ` : '';
  const all = flatten(err);
  if (all.length === 0) return new ForcehookError('KAFKA', `${prefix}${String(err)}`, { cause: err, retriable: false });
  const code = codeOf(all);
  const retriable = code === 'KAFKA_AUTH' ? false : code === 'KAFKA_UNAVAILABLE' ? true : all.filter((e) => e.apiId).some((e) => e.canRetry === true);
  return new ForcehookError(code, `${prefix}${detailOf(all)}`, {
    cause: err,
    retriable,
    details: { platformatic: isPltError(all[0]) ? all[0].code : all[0]!.name, apiId: all.find((e) => e.apiId)?.apiId },
    status: code === 'KAFKA_UNAVAILABLE' ? 503 : 500,
  });
}

/** Runs a @platformatic/kafka call and maps what it throws. */
export async function guarded<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapPlatformaticError(err, context);
  }
}

/** Whether the error (or one under it) is this Kafka protocol error. */
export function hasApiError(err: unknown, apiId: string): boolean {
  return flatten(err).some((e) => e.apiId === apiId);
}
