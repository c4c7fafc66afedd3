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
 * One real broker for the whole run (starting a JVM per file would cost seconds each);
 * every test file isolates itself with uniquePrefix() from test/support/kafka.ts.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.FORCEHOOK_TEST_NO_KAFKA === '1') {
    process.stderr.write('[global-setup] FORCEHOOK_TEST_NO_KAFKA=1: no Kafka broker for this run\n');
    project.provide('kafkaBrokers', '');
    return async () => {};
  }
  const hadEnv = process.env.KAFKA_BROKERS !== undefined;
  const started = Date.now();
  const broker: AcquiredBroker = await acquireBroker({
    logger: createLogger({ name: 'global-setup', level: process.env.LOG_LEVEL ?? 'warn' }),
  });
  process.stderr.write(`[global-setup] Kafka (${broker.kind}) ready at ${broker.brokers} in ${Date.now() - started} ms\n`);
  // Workers are forked after this returns and inherit the environment.
  process.env.KAFKA_BROKERS = broker.brokers;
  project.provide('kafkaBrokers', broker.brokers);
  return async () => {
    await broker.stop();
    if (!hadEnv) delete process.env.KAFKA_BROKERS;
  };
}
