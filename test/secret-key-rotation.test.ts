import { createSalesforceEgress } from '../src/net/salesforce-egress.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/core/errors.js';
import { createLogger } from '../src/core/log.js';
import { SecretBox } from '../src/core/secrets.js';
import { Signer, validSigners } from '../src/deliver/webhook/sign.js';
import { ConnectionService } from '../src/salesforce/connections.js';
import { TokenKeeper } from '../src/salesforce/tokens.js';
import { sealedPlace, type ConnectionRecord, type SubscriptionRecord } from '../src/state/records.js';
import { ServiceStore } from '../src/state/store.js';
import { MemoryKafka } from '../testkit/kafka/memory.js';
import { sealUnbound } from '../testkit/sealed.js';

const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'config');
const key = () => randomBytes(32).toString('base64');
const at = { kind: 'subscription', id: 'sub-1', field: 'webhookSecret' };
const base = { KAFKA_BROKERS: '127.0.0.1:9092', FORCEHOOK_API_TOKEN: 'a'.repeat(32) };

describe('FORCEHOOK_SECRET_KEY rotation (FORCEHOOK_SECRET_KEY_PREVIOUS)', () => {
  it('is empty by default and takes comma-separated older keys', () => {
    const [a, b, c] = [key(), key(), key()];
    expect(loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: a } }).secretKeyPrevious).toEqual([]);
    expect(loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: a, FORCEHOOK_SECRET_KEY_PREVIOUS: ` ${b}, ${c} ` } }).secretKeyPrevious).toEqual([b, c]);
  });

  it('names the setting when an older key is not base64 of 32 bytes', () => {
    let err: unknown;
    try {
      loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: key(), FORCEHOOK_SECRET_KEY_PREVIOUS: `${key()},c2hvcnQ=` } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^FORCEHOOK_SECRET_KEY_PREVIOUS: /);
  });

  it('after rotation, secrets sealed under the old key still open; new ones are sealed under the new key', () => {
    const [oldKey, newKey] = [key(), key()];
    const sealedBefore = SecretBox.fromBase64(oldKey).seal('whsec_before', at);
    // What the service builds from the config (src/service/wiring/kafka-state.ts).
    const c = loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: newKey, FORCEHOOK_SECRET_KEY_PREVIOUS: oldKey } });
    const box = SecretBox.fromBase64(c.secretKey, ...c.secretKeyPrevious);
    expect(box.open(sealedBefore, at)).toBe('whsec_before');
    expect(box.isStale(sealedBefore)).toBe(true);
    const sealedAfter = box.seal('whsec_after', at);
    expect(box.isStale(sealedAfter)).toBe(false);
    expect(SecretBox.fromBase64(newKey).open(sealedAfter, at)).toBe('whsec_after');
    // The old key alone cannot open what the new key sealed, nor the new key alone the old ones.
    expect(() => SecretBox.fromBase64(oldKey).open(sealedAfter, at)).toThrow(/FORCEHOOK_SECRET_KEY/);
    expect(() => SecretBox.fromBase64(newKey).open(sealedBefore, at)).toThrow(/FORCEHOOK_SECRET_KEY/);
  });
});

describe('re-sealing after a rotation, then dropping the old key', () => {
  it('the owner re-seals every sealed value of its orgs (old key, or written unbound by an older version); afterwards the new key alone opens them all', async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const oldBox = new SecretBox([oldKey]);
    const now = new Date().toISOString();
    const subOf = (id: string, connectionId: string, sealed: string[]): SubscriptionRecord => ({
      id,
      connectionId,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'https://receiver.example/hook' },
      secrets: sealed.map((s) => ({ sealed: s, createdAt: now })),
      createdAt: now,
    });
    const whsec = (n: number) => `whsec_${Buffer.alloc(32, n).toString('base64')}`;
    // c1: sealed by this version under the old key; c2: written by a version that did not bind values to their place.
    const c1: ConnectionRecord = {
      id: 'c1',
      orgId: '00D000000000001AAA',
      loginUrl: 'https://login.salesforce.com',
      instanceUrl: 'https://example.my.salesforce.com',
      clientId: 'client',
      clientSecret: oldBox.seal('cs-1', sealedPlace.connection('c1', 'clientSecret')),
      refreshToken: oldBox.seal('rt-1', sealedPlace.connection('c1', 'refreshToken')),
      accessToken: oldBox.seal('at-1', sealedPlace.connection('c1', 'accessToken')),
      tokenRefreshedAt: now,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    const c2: ConnectionRecord = {
      ...c1,
      id: 'c2',
      orgId: '00D000000000002AAA',
      clientSecret: sealUnbound(oldKey, 'cs-2'),
      refreshToken: sealUnbound(oldKey, 'rt-2'),
      accessToken: sealUnbound(oldKey, 'at-2'),
      status: 'needs_reauth',
    };
    const s1 = subOf('s1', 'c1', [oldBox.seal(whsec(1), sealedPlace.webhookSecret('s1'))]);
    const s2 = subOf('s2', 'c2', [sealUnbound(oldKey, whsec(2)), sealUnbound(oldKey, whsec(3))]);

    const kafka = new MemoryKafka();
    const logger = createLogger({ name: 'test', level: 'silent' });
    const open = (k: MemoryKafka) => new ServiceStore({ client: k, stateTopic: 't.state', checkpointTopic: 't.checkpoints', logger });
    const store = open(kafka);
    await store.start();
    for (const c of [c1, c2]) await store.putConnection(c);
    for (const s of [s1, s2]) await store.putSubscription(s);

    // Rotated: the new key seals, the old one only opens.
    const rotated = new SecretBox([newKey, oldKey]);
    const keeper = new TokenKeeper({
      store,
      box: rotated,
      logger,
      egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }),
      owns: () => true,
      intervalMs: 3_600_000,
      onReauthRequired: () => undefined,
    });
    await keeper.resealOwned();
    await store.stop();

    // The old key dropped, state read back from the topic as a restarted instance would.
    const newOnly = new SecretBox([newKey]);
    const after = open(kafka);
    await after.start();
    const connections = new ConnectionService({
      store: after,
      box: newOnly,
      egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: false }),
      logger,
    });
    expect(connections.credentials(after.connection('c1')!)).toEqual({
      oauth: { loginUrl: c1.loginUrl, clientId: 'client', clientSecret: 'cs-1' },
      refreshToken: 'rt-1',
    });
    expect(connections.credentials(after.connection('c2')!)).toEqual({
      oauth: { loginUrl: c1.loginUrl, clientId: 'client', clientSecret: 'cs-2' },
      refreshToken: 'rt-2',
    });
    const tokens = new TokenKeeper({
      store: after,
      box: newOnly,
      logger,
      egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }),
      owns: () => true,
      intervalMs: 3_600_000,
      onReauthRequired: () => undefined,
    });
    expect(tokens.source('c1').current()?.accessToken).toBe('at-1');
    expect(newOnly.open(after.connection('c2')!.accessToken!, sealedPlace.connection('c2', 'accessToken'))).toBe('at-2');
    const sign = (secret: string) => new Signer(secret).sign('m', 1, 'b');
    expect(validSigners(after.subscription('s1')!, newOnly, Date.now()).map((x) => x.sign('m', 1, 'b'))).toEqual([sign(whsec(1))]);
    expect(validSigners(after.subscription('s2')!, newOnly, Date.now()).map((x) => x.sign('m', 1, 'b'))).toEqual([sign(whsec(2)), sign(whsec(3))]);
    // Nothing left in the unbound format: each value now opens only at its place.
    for (const v of [after.connection('c2')!.refreshToken, ...after.subscription('s2')!.secrets!.map((x) => x.sealed)]) expect(v.startsWith('v2.')).toBe(true);
    await after.stop();
  });
});
