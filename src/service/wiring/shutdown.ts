import type { Server } from 'node:http';
import type { Logger } from '../../core/log.js';
import { withTimeout } from '../../core/timeout.js';
import type { StateMachine } from '../../core/state-machine.js';
import type { ServiceState } from '../lifecycle.js';
import type { Delivery } from './delivery.js';
import type { KafkaAndState } from './kafka-state.js';
import type { Sources } from './sources.js';

/** How long closing the Kafka clients may take once everything was flushed. */
const KAFKA_CLOSE_TIMEOUT_MS = 5_000;

export interface ShutdownDeps {
  logger: Logger;
  lifecycle: StateMachine<ServiceState>;
  /** Aborts a boot still waiting for Kafka. */
  stopping: AbortController;
  booted: Promise<void>;
  server: Server;
  k: KafkaAndState;
  s: Sources;
  d: Delivery;
}

/**
 * Stops in the order that loses nothing: HTTP first, then following orgs and
 * delivering side by side, then what they wrote, then Kafka.
 */
export async function shutdown({ logger, lifecycle, stopping, booted, server, k, s, d }: ShutdownDeps): Promise<void> {
  const { publisher, store, kafka, egress } = k;
  const { tokens, sources } = s;
  const { delivery } = d;
  if (lifecycle.state === 'stopping' || lifecycle.state === 'stopped') return;
  lifecycle.to('stopping');
  stopping.abort();
  await booted.catch(() => undefined);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  // Side by side: each ends by leaving its Kafka group, which waits out the fetch in flight.
  tokens.stop();
  await Promise.all([
    (async () => {
      await sources.stop();
      // Only after every org stopped and checkpointed: leaving hands them to the others.
      await s.ownership()?.stop();
    })(),
    delivery.stop().catch((err: unknown) => logger.warn({ err }, 'delivery stop failed')),
  ]);
  await publisher.flush().catch(() => undefined);
  await store.stop().catch(() => undefined);
  // A client still connecting to a broker that does not answer waits out its request timeout to
  // disconnect; everything it could have written is flushed above, so it is not waited for past this.
  await withTimeout(kafka.close(), KAFKA_CLOSE_TIMEOUT_MS, 'kafka close').catch((err: unknown) => logger.warn({ err }, 'kafka close failed'));
  await egress.dispatcher.close();
  lifecycle.to('stopped');
}
