/**
 * A connection's own CDC transport beats the service's: the service follows CometD by default, one
 * connection asks for Pub/Sub and is followed over it (the emulator's stats say which transport holds
 * the org's stream), its events arrive; cleared, it moves back to the default and events still arrive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  adminCall,
  createOrg,
  orgUser,
  readEvents,
  startTestEmulator,
  startTestService,
  transportEnv,
  waitUntil,
  type ReceivedEvent,
} from '../../testkit/service.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

interface Stats {
  streamingClients: number;
  pubsubSubscriptions: number;
}

describe('per-connection CDC transport', () => {
  it('a connection created with cdcTransport pubsub is followed over Pub/Sub while the service default is CometD', async () => {
    const prefix = uniquePrefix('transport-override');
    const org = await createOrg(emulator.url);
    // The Pub/Sub endpoint is configured, but the service's transport stays CometD.
    const env = { ...transportEnv(emulator, 'pubsub'), FORCEHOOK_CDC_TRANSPORT: 'cometd' };
    const svc = await startTestService({ prefix, env });
    const reader = await readEvents(prefix);
    try {
      const created = await svc.api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
        cdcTransport: 'pubsub',
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const connectionId = created.body.id;
      const sub = await svc.api('POST', '/v1/subscriptions', {
        connectionId,
        trigger: 'record.created',
        object: 'Lead',
        destination: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
      });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);

      const view = await svc.api<{ cdcTransport: string; cdcTransportIsDefault: boolean }>('GET', `/v1/connections/${connectionId}`);
      expect(view.body).toMatchObject({ cdcTransport: 'pubsub', cdcTransportIsDefault: false });

      const followedOver = (transport: 'pubsub' | 'cometd') =>
        waitUntil(
          async () => {
            const r = await svc.api<{ subscriber: string; objects: { mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
            if (r.body.subscriber !== 'running' || r.body.objects.length !== 1 || r.body.objects[0]!.mode !== 'cdc') return false;
            const st = await adminCall<Stats>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
            return transport === 'pubsub' ? st.pubsubSubscriptions > 0 && st.streamingClients === 0 : st.streamingClients > 0 && st.pubsubSubscriptions === 0;
          },
          30_000,
          `CDC followed over ${transport}`,
        );
      const created1 = (id: string) => (e: ReceivedEvent[]) => e.some((x) => x.type === 'salesforce.record.created' && x.subject === id);

      await followedOver('pubsub');
      const user = orgUser(org);
      const first = await user.sobject('Lead').create({ LastName: 'Hopper', Company: 'Navy' });
      await reader.waitFor(created1(first.id!), 30_000, 'the Lead created while on Pub/Sub');

      // Cleared: back to the service default, the subscriber restarted from its checkpoint.
      const cleared = await svc.api<{ cdcTransport: string; cdcTransportIsDefault: boolean }>('PATCH', `/v1/connections/${connectionId}`, {
        cdcTransport: null,
      });
      expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
      expect(cleared.body).toMatchObject({ cdcTransport: 'cometd', cdcTransportIsDefault: true });
      await followedOver('cometd');
      const second = await user.sobject('Lead').create({ LastName: 'Lamarr', Company: 'Films' });
      await reader.waitFor(created1(second.id!), 30_000, 'the Lead created after moving back to CometD');
      expect(reader.events.filter((e) => e.data.detectedBy !== 'cdc')).toEqual([]);
    } finally {
      await reader.stop();
      await svc.stop();
    }
  });
});
