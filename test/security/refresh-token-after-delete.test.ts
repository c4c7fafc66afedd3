/**
 * A deleted connection's refresh token must be worth nothing: whoever kept a copy
 * (a backup or an old segment of the state topic, together with the key) could
 * otherwise keep reading the org after its owner removed it from forcehook.
 */
import { createSalesforceEgress } from '../../src/net/salesforce-egress.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { createLogger } from '../../src/core/log.js';
import { SecretBox } from '../../src/core/secrets.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { ConnectionService } from '../../src/salesforce/connections.js';
import { ReauthRequiredError, refreshAccessToken } from '../../src/salesforce/oauth.js';
import { sealedPlace } from '../../src/state/records.js';
import { ServiceStore } from '../../src/state/store.js';
import { createOrg, startTestEmulator } from '../../testkit/service.js';

const box = new SecretBox([randomBytes(32)]);
let em: RunningEmulator;
beforeAll(async () => {
  em = await startTestEmulator();
});
afterAll(async () => {
  await em.close();
});

async function service(warnings: string[] = []) {
  const store = new ServiceStore({
    client: new MemoryKafka(),
    stateTopic: 't.state',
    checkpointTopic: 't.checkpoints',
    logger: createLogger({ name: 'test', level: 'silent' }),
  });
  await store.start();
  const logger = createLogger({ name: 'test', level: 'silent' });
  logger.warn = ((obj: unknown, msg?: string) => void warnings.push(msg ?? String(obj))) as typeof logger.warn;
  return { store, connections: new ConnectionService({ store, box, egress: createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }), logger }) };
}

describe('deleting a connection revokes its refresh token at Salesforce', () => {
  it('the stored refresh token no longer refreshes once the connection is deleted', async () => {
    const org = await createOrg(em.url);
    const { store, connections } = await service();
    const c = await connections.connect({ loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret, refreshToken: org.refreshToken });
    const stored = box.open(c.refreshToken, sealedPlace.connection(c.id, 'refreshToken'));
    const oauth = { loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret };
    await refreshAccessToken(oauth, stored, createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }));
    await connections.remove(c.id);
    expect(store.connection(c.id)).toBeUndefined();
    await expect(refreshAccessToken(oauth, stored, createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true }))).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    await store.stop();
  });

  it('an org that cannot be reached does not keep the connection: it is deleted, with a warning', async () => {
    const org = await createOrg(em.url);
    const warnings: string[] = [];
    const { store, connections } = await service(warnings);
    const c = await connections.connect({ loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret, refreshToken: org.refreshToken });
    // The org's login host goes away (a closed port).
    await store.putConnection({ ...c, loginUrl: 'http://127.0.0.1:9' });
    await connections.remove(c.id);
    expect(store.connection(c.id)).toBeUndefined();
    expect(warnings).toContain('could not revoke the refresh token of a deleted connection');
    await store.stop();
  });
});
