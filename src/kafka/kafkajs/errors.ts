import { ForcehookError, type ErrorCode } from '../../core/errors.js';

/**
 * The single table from kafkajs failures to forcehook codes. 'KAFKA_UNAVAILABLE'
 * means "the cluster (or the part we need) cannot be reached right now": /readyz
 * and supervisors treat it differently from a request Kafka refused ('KAFKA').
 * Keys are kafkajs error class names, or protocol error types for
 * KafkaJSProtocolError (whose class says nothing by itself).
 */
const UNAVAILABLE: ReadonlySet<string> = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
  // protocol error types
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'BROKER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'COORDINATOR_NOT_AVAILABLE',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'NOT_COORDINATOR_FOR_GROUP',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
]);

/**
 * The brokers refused who we are (SASL) or we refused who they are (TLS trust):
 * no retry can fix that, only the operator's settings can.
 */
const AUTH: ReadonlySet<string> = new Set([
  'KafkaJSSASLAuthenticationError',
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);
const TLS_TRUST =
  /self[- ]signed certificate|unable to (verify|get local issuer)|certificate (has expired|is not yet valid)|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME_INVALID|wrong version number/i;

/** kafkajs wrappers that only say "I gave up": the wrapped error is the real one. */
const GAVE_UP: ReadonlySet<string> = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSNonRetriableError']);

interface KafkajsLike {
  name?: string;
  type?: string;
  message?: string;
  retriable?: boolean;
  cause?: unknown;
}

function isKafkajsError(err: unknown): err is Error & KafkajsLike {
  return err instanceof Error && typeof (err as KafkajsLike).name === 'string' && (err as KafkajsLike).name!.startsWith('KafkaJS');
}

/** The innermost kafkajs error behind "gave up" wrappers. */
function rootOf(err: Error & KafkajsLike): Error & KafkajsLike {
  let current = err;
  for (let depth = 0; depth < 5 && GAVE_UP.has(current.name ?? ''); depth++) {
    if (!isKafkajsError(current.cause) || current.cause === current) break;
    current = current.cause;
  }
  return current;
}

function codeOf(err: KafkajsLike): ErrorCode {
  if (AUTH.has(err.name ?? '') || AUTH.has(err.type ?? '') || TLS_TRUST.test(err.message ?? '')) return 'KAFKA_AUTH';
  if (UNAVAILABLE.has(err.name ?? '') || UNAVAILABLE.has(err.type ?? '')) return 'KAFKA_UNAVAILABLE';
  return 'KAFKA';
}

/**
 * Wraps anything a kafkajs call threw. `retriable` is kafkajs's own flag, read on
 * the root cause: kafkajs marks "retries exhausted" as non-retriable, yet the
 * condition behind it (a broker that is down) is transient, and our outer layers
 * (supervisor restart, /readyz polling) do want to try again later.
 */
export function mapKafkaError(err: unknown, context?: string): ForcehookError {
  if (err instanceof ForcehookError) return err;
  const prefix = context ? `${context}: ` : '';
  if (!isKafkajsError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return new ForcehookError('KAFKA', `${prefix}${message}`, { cause: err, retriable: false });
  }
  const root = rootOf(err);
  const code = codeOf(root);
  const retriable = code === 'KAFKA_AUTH' ? false : (root.retriable ?? err.retriable ?? false);
  const detail = root === err ? err.message : `${err.message} (${root.name}: ${root.message})`;
  return new ForcehookError(code, `${prefix}${detail}`, {
    cause: err,
    retriable,
    details: { kafkajs: root.name, type: root.type },
    status: code === 'KAFKA_UNAVAILABLE' ? 503 : 500,
  });
}

/** Runs a kafkajs call and maps what it throws. */
export async function guarded<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapKafkaError(err, context);
  }
}
