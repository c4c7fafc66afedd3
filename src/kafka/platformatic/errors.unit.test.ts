import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, UserError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { ForcehookError } from '../../core/errors.js';
import { mapPlatformaticError } from './errors.js';

describe('mapPlatformaticError', () => {
  it('an unreachable broker is KAFKA_UNAVAILABLE and retriable, even under a wrapper', () => {
    const err = mapPlatformaticError(
      new MultipleErrors('Producing messages failed.', [new NetworkError('Connection to 127.0.0.1:1 failed.')]),
      'kafka produce',
    );
    expect(err).toBeInstanceOf(ForcehookError);
    expect(err).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retriable: true, status: 503 });
    expect(err.message).toMatch(/^kafka produce: /);
  });

  it('refused credentials are KAFKA_AUTH and never retriable', () => {
    expect(mapPlatformaticError(new AuthenticationError('SASL authentication failed.'))).toMatchObject({ code: 'KAFKA_AUTH', retriable: false });
    expect(mapPlatformaticError(new MultipleErrors('x', [new ProtocolError('SASL_AUTHENTICATION_FAILED')]))).toMatchObject({
      code: 'KAFKA_AUTH',
      retriable: false,
    });
  });

  it("a refused request keeps the broker's error and the client's own retriable flag", () => {
    const unknown = mapPlatformaticError(new MultipleErrors('x', [new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION')]));
    expect(unknown).toMatchObject({ code: 'KAFKA', retriable: true });
    expect(unknown.message).toMatch(/UNKNOWN_TOPIC_OR_PARTITION/);
    expect(mapPlatformaticError(new MultipleErrors('x', [new ProtocolError('MESSAGE_TOO_LARGE')]))).toMatchObject({ code: 'KAFKA', retriable: false });
    expect(mapPlatformaticError(new MultipleErrors('x', [new ProtocolError('NOT_ENOUGH_REPLICAS')]))).toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      retriable: true,
    });
  });

  it('a programming error is KAFKA, not retriable', () => {
    expect(mapPlatformaticError(new UserError('bad option'))).toMatchObject({ code: 'KAFKA', retriable: false });
    expect(mapPlatformaticError(new TypeError('boom'))).toMatchObject({ code: 'KAFKA', retriable: false });
  });
});
