import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../core/log.js';
import { withTimeout } from '../core/timeout.js';
import { startLocalKafka } from './local/index.js';

export type BrokerKind = 'env' | 'testcontainers' | 'local';

export interface AcquiredBroker {
  /** Comma-separated bootstrap servers, e.g. "127.0.0.1:39092". */
  brokers: string;
  kind: BrokerKind;
  /** Stops what acquireBroker started; a no-op for an external cluster. */
  stop(): Promise<void>;
}

/** Kafka 3.9 inside, the same broker line as the jar-based fallback. */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.1';
const KAFKA_CONTAINER_PORT = 9093;

/**
 * The one way tests, benchmarks and the demo get a real broker: an external cluster
 * (KAFKA_BROKERS), else Testcontainers when a Docker engine answers, else Apache Kafka's
 * own jars run with the local Java.
 */
export async function acquireBroker(opts: { logger?: Logger; stopOnSignal?: boolean } = {}): Promise<AcquiredBroker> {
  const external = process.env.KAFKA_BROKERS?.trim();
  if (external) {
    opts.logger?.info({ brokers: external }, 'using Kafka from KAFKA_BROKERS');
    return { brokers: external, kind: 'env', stop: async () => {} };
  }
  if (await dockerAvailable()) {
    opts.logger?.info({ image: KAFKA_IMAGE }, 'starting Kafka with Testcontainers');
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const container = await new KafkaContainer(KAFKA_IMAGE).withKraft().start();
    return {
      brokers: `${container.getHost()}:${container.getMappedPort(KAFKA_CONTAINER_PORT)}`,
      kind: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  }
  const local = await startLocalKafka({ logger: opts.logger, ...(opts.stopOnSignal === undefined ? {} : { stopOnSignal: opts.stopOnSignal }) });
  return { brokers: local.brokers, kind: 'local', stop: local.stop };
}

/**
 * Whether a Docker engine answers, decided quickly and quietly. Without any sign of an
 * engine (socket, DOCKER_HOST, Testcontainers config) testcontainers is not even loaded:
 * it is a dev dependency, absent from production installs that run the demo.
 */
export async function dockerAvailable(timeoutMs = 3_000): Promise<boolean> {
  const candidates = [
    '/var/run/docker.sock',
    process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    join(homedir(), '.docker', 'run', 'docker.sock'),
    join(homedir(), '.docker', 'desktop', 'docker.sock'),
    join(homedir(), '.testcontainers.properties'),
  ].filter(Boolean);
  if (!process.env.DOCKER_HOST && !candidates.some((p) => existsSync(p))) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), timeoutMs, 'docker check');
    return true;
  } catch {
    return false;
  }
}
