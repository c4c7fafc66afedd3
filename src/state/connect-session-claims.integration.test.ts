import { afterAll, describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { hasTestBrokers, testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createKafka } from '../kafka/index.js';
import type { KafkaClient } from '../kafka/types.js';
import type { ConnectSessionRecord } from './records.js';
import { ServiceStore } from './store.js';

const logger = testLogger();
const clients: KafkaClient[] = [];
const stores: ServiceStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.stop()));
  await Promise.all(clients.map((c) => c.close()));
});

async function open(prefix: string, instanceId: string): Promise<ServiceStore> {
  const client = createKafka({ brokers: testBrokers(), clientId: `forcehook-${prefix}`, logger });
  clients.push(client);
  const s = new ServiceStore({ client, stateTopic: `${prefix}.state`, checkpointTopic: `${prefix}.checkpoints`, logger, instanceId });
  stores.push(s);
  await s.start();
  return s;
}

function session(id: string): ConnectSessionRecord {
  const now = new Date().toISOString();
  return {
    id,
    status: 'pending',
    loginUrl: 'https://login.salesforce.com',
    clientId: 'c',
    clientSecret: 'sealed',
    codeVerifier: 'sealed',
    redirectUri: 'https://forcehook.example.com/oauth/callback',
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
    createdAt: now,
    updatedAt: now,
  };
}

describe.skipIf(!hasTestBrokers())('connect session claims (redeem once)', () => {
  it('many concurrent claims from two instances: exactly one wins; later ones and a restarted instance lose', async () => {
    const prefix = uniquePrefix('claims');
    const [a, b] = await Promise.all([open(prefix, 'a'), open(prefix, 'b')]);
    await a.putConnectSession(session('s1'));
    const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).claimConnectSession('s1')));
    expect(claims.filter(Boolean)).toHaveLength(1);
    // Nothing was completed yet, still nobody else wins.
    expect(await b.claimConnectSession('s1')).toBe(false);
    const c = await open(prefix, 'c');
    expect(await c.claimConnectSession('s1')).toBe(false);
    // A session that does not exist is never won, and leaves no claim behind.
    expect(await c.claimConnectSession('no-such-session')).toBe(false);
    // Removing a session removes its claims.
    await a.deleteConnectSession('s1');
    expect(a.connectSession('s1')).toBeUndefined();
    expect(await a.claimConnectSession('s1')).toBe(false);
  });
});
