/**
 * FORCEHOOK_ROLES: a source-only instance follows the org and publishes; a
 * delivery-only instance on the same prefix delivers. Neither does the other's work.
 */
import { describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createOrg, orgUser, readEvents, startTestEmulator, startTestService, waitUntil } from '../../testkit/service.js';
import { startReceiver } from '../../testkit/receiver.js';

describe('roles', () => {
  it('a source-only and a delivery-only instance together deliver a change; alone, the source one delivers nothing', async () => {
    const emulator = await startTestEmulator();
    const prefix = uniquePrefix('roles');
    const receiver = await startReceiver();
    const source = await startTestService({ prefix, roles: ['source'], instanceId: 'source' });
    const reader = await readEvents(prefix);
    let delivery: Awaited<ReturnType<typeof startTestService>> | undefined;
    try {
      const org = await createOrg(emulator.url);
      const c = await source.api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      const s = await source.api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
        connectionId: c.body.id,
        trigger: 'record.created',
        object: 'Lead',
        destination: { type: 'webhook', url: `${receiver.url}/hook` },
      });
      receiver.secrets.push(s.body.secret);
      await waitUntil(
        async () => (await source.api<{ subscriber: string }>('GET', `/v1/connections/${c.body.id}`)).body.subscriber === 'running',
        20_000,
        'source follows the org',
      );
      const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Split', Company: 'Roles' });
      await reader.waitFor((e) => e.some((x) => x.subject === lead.id), 20_000, 'published by the source instance');
      await new Promise((r) => setTimeout(r, 2_000));
      expect(receiver.requests).toBe(0); // nobody runs delivery yet

      delivery = await startTestService({ prefix, roles: ['delivery'], instanceId: 'delivery' });
      expect(delivery.service.sources.status(c.body.id)).toBeUndefined(); // the delivery instance follows no org
      await waitUntil(() => receiver.received.some((r) => r.event.subject === lead.id), 30_000, 'delivered by the delivery instance');
      expect(receiver.invalid).toEqual([]);
    } finally {
      await delivery?.stop();
      await reader.stop();
      await source.stop();
      await receiver.close();
      await emulator.close();
    }
  }, 120_000);
});
