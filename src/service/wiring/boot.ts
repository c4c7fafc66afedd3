import type { Config } from '../../config/schema.js';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { abortedError, retry, retryPolicy } from '../../core/retry.js';
import type { StateMachine } from '../../core/state-machine.js';
import { topicSpecs } from '../../kafka/topics.js';
import type { ServiceState } from '../lifecycle.js';
import type { Delivery } from './delivery.js';
import type { KafkaAndState } from './kafka-state.js';
import type { Sources } from './sources.js';

/** `p`, or a rejection as soon as `signal` aborts (`p` itself runs on, its outcome ignored). */
function abandonOnAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export interface BootDeps {
  config: Readonly<Config>;
  logger: Logger;
  lifecycle: StateMachine<ServiceState>;
  k: KafkaAndState;
  s: Sources;
  d: Delivery;
  /** Aborted at stop: the boot stops waiting for Kafka. */
  signal: AbortSignal;
  /** Topics exist and state was read: the API may answer. */
  onLoaded(): void;
}

/**
 * In the background, with retries until stop: topics, then state from Kafka,
 * then the instance's roles (following orgs, delivering). Resolves once state
 * is loaded.
 */
export function boot({ config, logger, lifecycle, k, s, d, signal, onLoaded }: BootDeps): Promise<void> {
  const { admin, topics: t, store } = k;
  const { tokens, sources, startOwnership } = s;
  const { delivery } = d;
  const booted = retry(
    retryPolicy({ maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 500, maxDelayMs: 10_000 }),
    async () => {
      // A stop does not wait for an attempt that a broker which does not answer holds for
      // its request timeout: the attempt is abandoned, and nothing is started after it.
      await abandonOnAbort(admin.ensureTopics(topicSpecs(t, config.retrySchedule)), signal);
      await abandonOnAbort(store.start(), signal);
    },
    {
      signal,
      onRetry: (err, attempt, delayMs) => {
        if (lifecycle.state === 'starting') lifecycle.to('degraded');
        logger.warn({ err: err.message, attempt, delayMs }, 'waiting for Kafka');
      },
    },
  ).then(() => {
    onLoaded();
    if (config.roles.includes('source')) {
      tokens.start();
      sources.start();
      void startOwnership().catch((err: unknown) => logger.error({ err }, 'could not join the owners group: following no org'));
    }
    if (config.roles.includes('delivery')) {
      void delivery.start().catch((err: unknown) => logger.error({ err }, 'delivery engine failed to start'));
    }
    if (lifecycle.state === 'starting' || lifecycle.state === 'degraded') lifecycle.to('running');
  });
  booted.catch((err: unknown) => {
    if (signal.aborted) return;
    if (err instanceof ForcehookError && err.code === 'KAFKA_AUTH') {
      // One line the operator can act on; nothing retries it (waiting does not fix credentials or trust).
      logger.error(
        { reason: err.message },
        'Kafka refused this client: check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL and KAFKA_SSL_CA_FILE',
      );
    } else logger.error({ err }, 'service boot failed');
  });
  return booted;
}
