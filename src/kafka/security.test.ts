import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { kafkaSecurityFromEnv } from './security.js';

describe('Kafka security settings from the environment', () => {
  it('reads TLS and SASL as the service, the bench and the consumer library all do', () => {
    expect(kafkaSecurityFromEnv({})).toEqual({ ssl: false });
    expect(kafkaSecurityFromEnv({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
    });
  });

  it('a bad setting names the variable', () => {
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toThrow(
      /^KAFKA_SASL_MECHANISM: /,
    );
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' })).toThrow(/^KAFKA_SASL_PASSWORD: /);
    const env = { KAFKA_BROKERS: 'k:9092', FORCEHOOK_API_TOKEN: 'x'.repeat(20), FORCEHOOK_SECRET_KEY: Buffer.alloc(32).toString('base64') };
    expect(() => loadConfig({ dir: '/nonexistent', env: { ...env, KAFKA_SSL: 'yes' } })).toThrow(/^KAFKA_SSL: /);
    expect(loadConfig({ dir: '/nonexistent', env: { ...env, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/ca.pem' } }).kafka).toMatchObject({
      ssl: true,
      sslCaFile: '/ca.pem',
    });
  });
});
