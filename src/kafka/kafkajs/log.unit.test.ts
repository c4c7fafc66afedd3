import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { kafkajsErrorLevel, pinoLogCreator } from './log.js';

function capture() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

const PINO = { debug: 20, warn: 40, error: 50 };

describe('kafkajs log levels', () => {
  it.each([
    ['Response CreateTopics(key: 19, version: 3)', 'Topic creation errors', 'debug'],
    ['Response JoinGroup(key: 11, version: 5)', 'The group is rebalancing, so a rejoin is needed', 'debug'],
    ['Response FindCoordinator(key: 10, version: 2)', "The coordinator is loading and hence can't process requests for this group", 'warn'],
    ['Response FindCoordinator(key: 10, version: 2)', 'The group coordinator is not available', 'warn'],
    ['Response Metadata(key: 3, version: 6)', 'There is no leader for this topic-partition as we are in the middle of a leadership election', 'warn'],
    ['Crash: KafkaJSNumberOfRetriesExceeded: The group coordinator is not available', undefined, 'warn'],
    ['Restarting the consumer in 300ms', undefined, 'warn'],
    // Refused credentials: the service logs the one line to act on.
    [
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
      undefined,
      'warn',
    ],
    ['Response SaslAuthenticate(key: 36, version: 1)', 'Authentication failed due to invalid credentials with SASL mechanism', 'warn'],
    // Real failures stay visible.
    ['Connection error: connect ECONNREFUSED 127.0.0.1:9092', undefined, 'error'],
    ['Crash: KafkaJSNonRetriableError: Topic authorization failed', undefined, 'error'],
    ['Failed to send messages: The request included a message larger than the max message size the server will accept', undefined, 'error'],
    ['Response Produce(key: 0, version: 7)', 'Not authorized to access topics: [Topic authorization failed]', 'error'],
  ])('%s / %s → %s', (message, error, level) => {
    expect(kafkajsErrorLevel(message, error)).toBe(level);
  });

  it('logs lowered lines at their new level, others as they came', () => {
    const { logger, lines } = capture();
    const log = pinoLogCreator(logger)(logLevel.WARN);
    const entry = (level: logLevel, message: string, error?: string) =>
      log({ namespace: 'Connection', level, label: 'ERROR', log: { message, timestamp: 'x', logger: 'kafkajs', ...(error ? { error } : {}) } });
    entry(logLevel.ERROR, 'Response FindCoordinator(key: 10, version: 2)', 'The coordinator is loading and hence cannot process requests');
    entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    entry(logLevel.WARN, 'Producer is not idempotent');
    entry(logLevel.INFO, 'Consumer has joined the group');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [PINO.warn, 'Response FindCoordinator(key: 10, version: 2)'],
      [PINO.error, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'],
      [PINO.warn, 'Producer is not idempotent'],
    ]);
    expect(lines[0]).toMatchObject({ component: 'kafkajs', ns: 'Connection', error: expect.stringContaining('loading') });
  });
});
