import type { TestProject } from 'vitest/node';
import { acquireBroker, type AcquiredBroker } from '../src/kafka/broker.js';
import { createLogger } from '../src/core/log.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Bootstrap servers of the run's shared broker; '' when FORCEHOOK_TEST_NO_KAFKA=1. */
    kafkaBrokers: string;
  }
}

/**
 * The broker of the run, shared by every project that names this setup (integration and e2e): the first
 * to ask starts it, the last to finish stops it. Projects may set up concurrently, so they share the promise.
 */
const shared = globalThis as { __forcehookTestBroker?: { broker: Promise<AcquiredBroker>; users: number; hadEnv: boolean } };

/**
 * One real broker for the whole run (starting a JVM per file would cost seconds each);
 * every test file isolates itself with uniquePrefix() from testkit/kafka/brokers.ts.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.FORCEHOOK_TEST_NO_KAFKA === '1') {
    process.stderr.write('[global-setup] FORCEHOOK_TEST_NO_KAFKA=1: no Kafka broker for this run\n');
    project.provide('kafkaBrokers', '');
    return async () => {};
  }
  if (!shared.__forcehookTestBroker) {
    const started = Date.now();
    const broker = acquireBroker({ logger: createLogger({ name: 'global-setup', level: process.env.LOG_LEVEL ?? 'warn' }) });
    shared.__forcehookTestBroker = { broker, users: 0, hadEnv: process.env.KAFKA_BROKERS !== undefined };
    void broker.then(
      (b) => process.stderr.write(`[global-setup] Kafka (${b.kind}) ready at ${b.brokers} in ${Date.now() - started} ms\n`),
      () => undefined,
    );
  }
  const entry = shared.__forcehookTestBroker;
  entry.users++;
  const broker = await entry.broker;
  // Workers are forked after this returns and inherit the environment.
  process.env.KAFKA_BROKERS = broker.brokers;
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    if (--entry.users > 0) return;
    shared.__forcehookTestBroker = undefined;
    await broker.stop();
    if (!entry.hadEnv) delete process.env.KAFKA_BROKERS;
  };
}
