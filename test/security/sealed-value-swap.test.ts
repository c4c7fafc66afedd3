/**
 * Someone who can write to the state topic (or restore an old copy of it) but does
 * not hold FORCEHOOK_SECRET_KEY moves sealed values between places: another org's
 * refresh token into a connection it controls, a refresh token into a webhook
 * secret (so that deliveries are signed with it), or a sealed value handed in as
 * an OAuth state. Each must fail to open where it was moved to.
 */
import { createSalesforceEgress } from '../../src/net/salesforce-egress.js';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { createLogger } from '../../src/core/log.js';
import { SecretBox } from '../../src/core/secrets.js';
import { validSigners } from '../../src/deliver/webhook/sign.js';
import { ConnectionService } from '../../src/salesforce/connections.js';
import { TokenKeeper } from '../../src/salesforce/tokens.js';
import { sealedPlace, type ConnectionRecord, type SubscriptionRecord } from '../../src/state/records.js';
import { ServiceStore } from '../../src/state/store.js';

const logger = createLogger({ name: 'test', level: 'silent' });
const box = new SecretBox([randomBytes(32)]);
const now = new Date().toISOString();

function connection(id: string, orgId: string, refreshToken: string): ConnectionRecord {
  return {
    id,
    orgId,
    loginUrl: 'https://login.salesforce.com',
    instanceUrl: 'https://example.my.salesforce.com',
    clientId: 'client',
    clientSecret: box.seal(`secret-of-${id}`, sealedPlace.connection(id, 'clientSecret')),
    refreshToken: box.seal(refreshToken, sealedPlace.connection(id, 'refreshToken')),
    accessToken: box.seal(`access-of-${id}`, sealedPlace.connection(id, 'accessToken')),
    tokenRefreshedAt: now,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
}

let store: ServiceStore | undefined;
afterEach(async () => {
  await store?.stop();
  store = undefined;
});

describe('a sealed value moved to another place does not open', () => {
  const victim = connection('victim', '00D000000000001AAA', 'victim-refresh-token');
  const attacker = connection('attacker', '00D000000000002AAA', 'attacker-refresh-token');

  it("another connection's refresh token and access token, copied into a record the attacker controls", async () => {
    store = new ServiceStore({ client: new MemoryKafka(), stateTopic: 't.state', checkpointTopic: 't.checkpoints', logger });
    await store.start();
    const swapped = { ...attacker, refreshToken: victim.refreshToken, accessToken: victim.accessToken!, clientSecret: victim.clientSecret };
    await store.putConnection(swapped);
    const connections = new ConnectionService({ store, box, egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: false }), logger });
    expect(() => connections.credentials(store!.connection('attacker')!)).toThrow(/sealed for another place/);
    const tokens = new TokenKeeper({
      store,
      box,
      logger,
      egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }),
      owns: () => true,
      intervalMs: 3_600_000,
      onReauthRequired: () => undefined,
    });
    expect(() => tokens.source('attacker').current()).toThrow(/sealed for another place/);
    // The untouched record still opens.
    expect(connections.credentials(victim).refreshToken).toBe('victim-refresh-token');
  });

  it('a refresh token moved into the same connection as its access token or client secret', () => {
    const connections = new ConnectionService({
      store: undefined as never,
      box,
      egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: false }),
      logger,
    });
    expect(() => connections.credentials({ ...victim, clientSecret: victim.refreshToken })).toThrow(/sealed for another place/);
  });

  it("a refresh token moved into a subscription's webhook secrets signs nothing", () => {
    const sub: SubscriptionRecord = {
      id: 'sub-1',
      connectionId: 'attacker',
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: 'https://receiver.example/hook' },
      secrets: [{ sealed: victim.refreshToken, createdAt: now }],
      createdAt: now,
    };
    expect(() => validSigners(sub, box, Date.now())).toThrow(/sealed for another place/);
  });

  it("a subscription's webhook secret moved into another subscription", () => {
    const sealed = box.seal(`whsec_${randomBytes(32).toString('base64')}`, sealedPlace.webhookSecret('sub-1'));
    expect(validSigners({ id: 'sub-1', secrets: [{ sealed, createdAt: now }] }, box, Date.now())).toHaveLength(1);
    expect(() => validSigners({ id: 'sub-2', secrets: [{ sealed, createdAt: now }] }, box, Date.now())).toThrow(/sealed for another place/);
  });

  it('a sealed refresh token handed in as an OAuth state', () => {
    expect(() => box.open(victim.refreshToken, { kind: 'oauthState', id: '', field: 'state' })).toThrow(/sealed for another place/);
  });
});
