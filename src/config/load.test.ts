import { DEFAULT_KAFKA_CLIENT } from '../kafka/client-name.js';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './load.js';
import { ConfigError } from '../core/errors.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const good = { KAFKA_BROKERS: '127.0.0.1:9092', FORCEHOOK_API_TOKEN: 'a'.repeat(32), FORCEHOOK_SECRET_KEY: KEY };
const dir = join(process.cwd(), 'config');

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig({ dir, env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults from config/ and overrides from the environment', () => {
    const c = loadConfig({ dir, env: { ...good, FORCEHOOK_HTTP_PORT: '0', FORCEHOOK_RETRY_SCHEDULE: '1s,2m' } });
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafka.topicPrefix).toBe('forcehook');
    expect(c.http.port).toBe(0);
    expect(c.retrySchedule).toEqual([1_000, 120_000]);
    expect(c.allowPrivateNetworks).toBe(false);
    expect(c.pollIntervalS).toBe(30);
  });

  it('FORCEHOOK_METRICS_TOKEN: unset by default (metrics open), read from the environment', () => {
    expect(loadConfig({ dir, env: good }).metricsToken).toBeUndefined();
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_METRICS_TOKEN: 'scrape-me' } }).metricsToken).toBe('scrape-me');
  });

  it('FORCEHOOK_SALESFORCE_HOSTS: none by default, a list of host patterns, a bad entry named', () => {
    expect(loadConfig({ dir, env: good }).salesforceHosts).toEqual([]);
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_SALESFORCE_HOSTS: '*.example.com,127.0.0.1' } }).salesforceHosts).toEqual([
      '*.example.com',
      '127.0.0.1',
    ]);
    expect(errorOf({ ...good, FORCEHOOK_SALESFORCE_HOSTS: 'https://x.example.com' }).message).toMatch(/FORCEHOOK_SALESFORCE_HOSTS/);
  });

  it('connecting orgs: no default OAuth app, Salesforce login URLs, plain branding unless told; bad values named', () => {
    const c = loadConfig({ dir, env: good });
    expect(c.connect).toEqual({
      loginUrls: { production: 'https://login.salesforce.com', sandbox: 'https://test.salesforce.com' },
      brand: { name: 'forcehook', color: '#0b5cab' },
    });
    const set = loadConfig({
      dir,
      env: {
        ...good,
        FORCEHOOK_OAUTH_CLIENT_ID: 'id',
        FORCEHOOK_OAUTH_CLIENT_SECRET: 'secret',
        FORCEHOOK_PACKAGE_INSTALL_URL: 'https://login.salesforce.com/packaging/installPackage.apexp?p0=04t000000000001',
        FORCEHOOK_BRAND_NAME: 'Acme <CRM>',
        FORCEHOOK_BRAND_LOGO_URL: 'https://cdn.acme.example/logo.png',
        FORCEHOOK_BRAND_COLOR: '#123abc',
      },
    });
    expect(set.connect.oauthApp).toEqual({ clientId: 'id', clientSecret: 'secret' });
    expect(set.connect.brand).toEqual({ name: 'Acme <CRM>', logoUrl: 'https://cdn.acme.example/logo.png', color: '#123abc' });
    expect(errorOf({ ...good, FORCEHOOK_OAUTH_CLIENT_ID: 'id' }).message).toMatch(/FORCEHOOK_OAUTH_CLIENT_SECRET/);
    expect(errorOf({ ...good, FORCEHOOK_BRAND_COLOR: 'red;}body{x:y' }).message).toMatch(/FORCEHOOK_BRAND_COLOR/);
    expect(errorOf({ ...good, FORCEHOOK_BRAND_LOGO_URL: 'http://cdn.acme.example/logo.png' }).message).toMatch(/FORCEHOOK_BRAND_LOGO_URL/);
    expect(errorOf({ ...good, FORCEHOOK_PACKAGE_INSTALL_URL: 'not a url' }).message).toMatch(/FORCEHOOK_PACKAGE_INSTALL_URL/);
  });

  it('runs both roles unless told otherwise', () => {
    expect(loadConfig({ dir, env: good }).roles).toEqual(['source', 'delivery']);
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_ROLES: 'delivery' } }).roles).toEqual(['delivery']);
  });

  it('owners session timeout: 30 s by default, the environment overrides it, the broker minimum (6 s) holds', () => {
    expect(loadConfig({ dir, env: good }).kafka.ownersSessionTimeoutMs).toBe(30_000);
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_OWNERS_SESSION_TIMEOUT_MS: '8000' } }).kafka.ownersSessionTimeoutMs).toBe(8_000);
    expect(errorOf({ ...good, FORCEHOOK_OWNERS_SESSION_TIMEOUT_MS: '5000' }).setting).toBe('FORCEHOOK_OWNERS_SESSION_TIMEOUT_MS');
  });

  it('Kafka client: the default unless FORCEHOOK_KAFKA_CLIENT picks another; an unknown one names the setting', () => {
    expect(loadConfig({ dir, env: good }).kafka.client).toBe(DEFAULT_KAFKA_CLIENT);
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_KAFKA_CLIENT: 'platformatic' } }).kafka.client).toBe('platformatic');
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_KAFKA_CLIENT: 'kafkajs' } }).kafka.client).toBe('kafkajs');
    expect(errorOf({ ...good, FORCEHOOK_KAFKA_CLIENT: 'rdkafka' }).setting).toBe('FORCEHOOK_KAFKA_CLIENT');
  });

  it('token refresh interval: daily by default, the environment overrides it, a bad value names the setting', () => {
    expect(loadConfig({ dir, env: good }).tokenRefreshIntervalS).toBe(86_400);
    expect(loadConfig({ dir, env: { ...good, FORCEHOOK_TOKEN_REFRESH_INTERVAL_S: '3600' } }).tokenRefreshIntervalS).toBe(3_600);
    expect(errorOf({ ...good, FORCEHOOK_TOKEN_REFRESH_INTERVAL_S: '0' }).setting).toBe('FORCEHOOK_TOKEN_REFRESH_INTERVAL_S');
    expect(errorOf({ ...good, FORCEHOOK_TOKEN_REFRESH_INTERVAL_S: 'daily' }).setting).toBe('FORCEHOOK_TOKEN_REFRESH_INTERVAL_S');
  });

  it('CDC transport: cometd by default; pubsub with its endpoint and CA file; a bad value or a missing file names the setting', () => {
    const c = loadConfig({ dir, env: good });
    expect(c.cdcTransport).toBe('cometd');
    expect(c.pubsubEndpoint).toBe('api.pubsub.salesforce.com:7443');
    const ca = join(mkdtempSync(join(tmpdir(), 'fh-ca-')), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const p = loadConfig({
      dir,
      env: { ...good, FORCEHOOK_CDC_TRANSPORT: 'pubsub', FORCEHOOK_PUBSUB_ENDPOINT: '127.0.0.1:7443', FORCEHOOK_PUBSUB_CA_FILE: ca },
    });
    expect([p.cdcTransport, p.pubsubEndpoint, p.pubsubCaFile]).toEqual(['pubsub', '127.0.0.1:7443', ca]);
    expect(errorOf({ ...good, FORCEHOOK_CDC_TRANSPORT: 'grpc' }).message).toMatch(/FORCEHOOK_CDC_TRANSPORT/);
    expect(errorOf({ ...good, FORCEHOOK_PUBSUB_ENDPOINT: 'https://api.pubsub.salesforce.com' }).message).toMatch(/FORCEHOOK_PUBSUB_ENDPOINT/);
    expect(errorOf({ ...good, FORCEHOOK_PUBSUB_CA_FILE: '/nonexistent/ca.pem' }).message).toMatch(/FORCEHOOK_PUBSUB_CA_FILE.*no such file/);
  });

  it('uses the documented default retry schedule', () => {
    expect(loadConfig({ dir, env: good }).retrySchedule).toEqual([5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 36e6]);
  });

  it('is immutable', () => {
    const c = loadConfig({ dir, env: good });
    expect(Object.isFrozen(c.kafka)).toBe(true);
    expect(() => {
      (c.kafka as { topicPrefix: string }).topicPrefix = 'x';
    }).toThrow(TypeError);
  });

  it.each([
    [{ ...good, FORCEHOOK_API_TOKEN: undefined }, 'FORCEHOOK_API_TOKEN'],
    [{ ...good, KAFKA_BROKERS: undefined }, 'KAFKA_BROKERS'],
    [{ ...good, KAFKA_BROKERS: 'nonsense' }, 'KAFKA_BROKERS'],
    [{ ...good, FORCEHOOK_SECRET_KEY: 'c2hvcnQ=' }, 'FORCEHOOK_SECRET_KEY'],
    [{ ...good, FORCEHOOK_HTTP_PORT: '70000' }, 'FORCEHOOK_HTTP_PORT'],
    [{ ...good, FORCEHOOK_RETRY_SCHEDULE: '5 parsecs' }, 'FORCEHOOK_RETRY_SCHEDULE'],
    [{ ...good, FORCEHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe' }, 'FORCEHOOK_ALLOW_PRIVATE_NETWORKS'],
    [{ ...good, FORCEHOOK_PUBLIC_URL: 'not a url' }, 'FORCEHOOK_PUBLIC_URL'],
    [{ ...good, FORCEHOOK_ROLES: 'source,juggler' }, 'FORCEHOOK_ROLES'],
  ])('names the bad setting %#', (env, name) => {
    const err = errorOf(env);
    expect(err.setting).toBe(name);
    expect(err.message.startsWith(`${name}: `)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  it('rejects unknown keys in config files', () => {
    const d = mkdtempSync(join(tmpdir(), 'fh-config-'));
    writeFileSync(join(d, 'default.json'), JSON.stringify({ kafka: {}, http: {}, pollIntervall: 3 }));
    expect(() => loadConfig({ dir: d, env: good })).toThrow(ConfigError);
  });
});
