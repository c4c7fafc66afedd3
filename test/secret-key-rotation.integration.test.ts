/**
 * `forcehook rekey` against a real state topic: after the key was rotated it names
 * the records still sealed under the old key (exit 1); once their owner re-sealed
 * them it says the old key can go (exit 0).
 */
import { createSalesforceEgress } from '../src/net/salesforce-egress.js';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/core/log.js';
import { SecretBox } from '../src/core/secrets.js';
import { createKafka } from '../src/kafka/index.js';
import { topics } from '../src/kafka/topics.js';
import { TokenKeeper } from '../src/salesforce/tokens.js';
import { sealedPlace, type ConnectionRecord } from '../src/state/records.js';
import { ServiceStore } from '../src/state/store.js';
import { testBrokers, uniquePrefix } from '../testkit/kafka/brokers.js';
import { sealUnbound } from '../testkit/sealed.js';

const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/forcehook.js', import.meta.url));

describe('forcehook rekey', () => {
  it('names what is still under the old key, then reports done once the owner re-sealed it', { timeout: 120_000 }, async () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const prefix = uniquePrefix('rekey');
    const logger = createLogger({ name: 'test', level: 'silent' });
    const kafka = createKafka({ brokers: testBrokers(), clientId: 'rekey-test', logger });
    const t = topics(prefix);
    const store = new ServiceStore({ client: kafka, stateTopic: t.state, checkpointTopic: t.checkpoints, logger });
    await store.start();
    const now = new Date().toISOString();
    const old = new SecretBox([oldKey]);
    const c: ConnectionRecord = {
      id: 'c1',
      orgId: '00D000000000001AAA',
      loginUrl: 'https://login.salesforce.com',
      instanceUrl: 'https://example.my.salesforce.com',
      clientId: 'client',
      clientSecret: old.seal('cs', sealedPlace.connection('c1', 'clientSecret')),
      refreshToken: sealUnbound(oldKey, 'rt'),
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    await store.putConnection(c);
    await store.putSubscription({
      id: 's1',
      connectionId: 'c1',
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'https://r.example/h' },
      secrets: [{ sealed: old.seal('whsec_AAAA', sealedPlace.webhookSecret('s1')), createdAt: now }],
      createdAt: now,
    });

    const env = {
      ...process.env,
      KAFKA_BROKERS: testBrokers().join(','),
      FORCEHOOK_TOPIC_PREFIX: prefix,
      FORCEHOOK_API_TOKEN: randomBytes(18).toString('base64url'),
      FORCEHOOK_SECRET_KEY: newKey.toString('base64'),
      FORCEHOOK_SECRET_KEY_PREVIOUS: oldKey.toString('base64'),
    };
    const rekey = () =>
      exec(process.execPath, [BIN, 'rekey'], { env, timeout: 60_000 }).then(
        (r) => ({ code: 0, out: JSON.parse(r.stdout) as unknown }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({
          code: err.code ?? -1,
          out: err.stdout ? (JSON.parse(err.stdout) as unknown) : err.stderr,
        }),
      );
    expect(await rekey()).toEqual({ code: 1, out: { event: 'rekey', done: false, stale: { connections: ['c1'], subscriptions: ['s1'] } } });

    const keeper = new TokenKeeper({
      store,
      box: new SecretBox([newKey, oldKey]),
      logger,
      egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }),
      owns: () => true,
      intervalMs: 3_600_000,
      onReauthRequired: () => undefined,
    });
    await keeper.resealOwned();
    expect(await rekey()).toEqual({ code: 0, out: { event: 'rekey', done: true, stale: { connections: [], subscriptions: [] } } });
    await store.stop();
    await kafka.close();
  });
});
