import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ForcehookError } from '../../core/errors.js';
import { mapKafkaError } from './errors.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSNonRetriableError, KafkaJSSASLAuthenticationError } = kafkajs;

describe('mapKafkaError', () => {
  it('a refused connection is KAFKA_UNAVAILABLE and retriable', () => {
    const err = mapKafkaError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'));
    expect(err).toBeInstanceOf(ForcehookError);
    expect([err.code, err.retriable, err.status]).toEqual(['KAFKA_UNAVAILABLE', true, 503]);
  });

  it('"retries exhausted" takes code and retriability from the error it gave up on', () => {
    const cause = new KafkaJSConnectionError('Connection timeout');
    const gaveUp = new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 1000 });
    expect(gaveUp.retriable).toBe(false);
    const err = mapKafkaError(gaveUp, 'kafka produce');
    expect([err.code, err.retriable]).toEqual(['KAFKA_UNAVAILABLE', true]);
    expect(err.message).toMatch(/^kafka produce: /);
    expect(err.cause).toBe(gaveUp);
  });

  it('protocol errors keep kafkajs flag; leadership ones count as unavailable', () => {
    const invalid = mapKafkaError(new KafkaJSProtocolError({ type: 'INVALID_RECORD', code: 87, retriable: false, message: 'bad' } as never));
    expect([invalid.code, invalid.retriable]).toEqual(['KAFKA', false]);
    const leader = mapKafkaError(new KafkaJSProtocolError({ type: 'NOT_LEADER_FOR_PARTITION', code: 6, retriable: true, message: 'moved' } as never));
    expect([leader.code, leader.retriable]).toEqual(['KAFKA_UNAVAILABLE', true]);
  });

  it('refused credentials and an untrusted certificate are KAFKA_AUTH and never retried', () => {
    const sasl = mapKafkaError(
      new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)('SASL SCRAM SHA512 authentication failed: invalid credentials'),
    );
    expect([sasl.code, sasl.retriable]).toEqual(['KAFKA_AUTH', false]);
    const tls = mapKafkaError(
      new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error: self-signed certificate in certificate chain'), {
        retryCount: 5,
        retryTime: 100,
      }),
    );
    expect([tls.code, tls.retriable]).toEqual(['KAFKA_AUTH', false]);
  });

  it('a plain non-retriable kafkajs error stays non-retriable', () => {
    const err = mapKafkaError(new KafkaJSNonRetriableError('Invalid offset'));
    expect([err.code, err.retriable]).toEqual(['KAFKA', false]);
  });

  it('leaves ForcehookErrors alone and wraps foreign errors as non-retriable KAFKA', () => {
    const own = new ForcehookError('TIMEOUT', 'x', { retriable: true });
    expect(mapKafkaError(own)).toBe(own);
    expect(mapKafkaError(new TypeError('boom')).retriable).toBe(false);
  });
});
