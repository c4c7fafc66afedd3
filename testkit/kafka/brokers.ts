import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';

function brokersString(): string {
  return inject('kafkaBrokers') || process.env.KAFKA_BROKERS || '';
}

/** Whether this run has a broker (false under FORCEHOOK_TEST_NO_KAFKA=1), for describe.skipIf. */
export function hasTestBrokers(): boolean {
  return brokersString().trim() !== '';
}

/** The run's shared broker (see test/global-setup.ts), as kafkajs wants it. */
export function testBrokers(): string[] {
  const list = brokersString()
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (list.length === 0) {
    throw new Error('no Kafka broker for this test run: test/global-setup.ts did not start one ' + '(FORCEHOOK_TEST_NO_KAFKA=1?) and KAFKA_BROKERS is unset');
  }
  return list;
}

/**
 * A topic/group/id prefix unique to one test, so that files running in parallel against
 * the one shared broker never see each other's messages. Kafka topic names allow
 * [a-zA-Z0-9._-], up to 249 characters.
 */
export function uniquePrefix(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9._-]+/g, '-').slice(0, 60);
  return `t-${clean}-${randomBytes(4).toString('hex')}`;
}
