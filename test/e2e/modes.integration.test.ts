/**
 * The same change seen by CDC and read back through REST by the service gets the same event id; an
 * independent poller of the same org finds every change too (under row ids: it cannot prove which
 * change event a row is). A lead conversion's transaction reaches Kafka in its commit order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../src/core/log.js';
import { detectBatch } from '../../src/detect/index.js';
import type { ForcehookEvent } from '../../src/events/schema.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { createPoller } from '../../src/source/polling/index.js';
import { emulatorEgress } from '../../testkit/source/polling.js';
import { OrgSession } from '../../src/salesforce/session.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  adminCall,
  createOrg,
  orgUser,
  readEvents,
  startTestEmulator,
  startTestService,
  transportEnv,
  CDC_TRANSPORTS,
  waitUntil,
} from '../../testkit/service.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

describe.each(CDC_TRANSPORTS)('detection modes agree over %s', (transport) => {
  it('a change streamed by CDC and read again by a reconcile gets one id; a poller finds every change', async () => {
    const prefix = uniquePrefix(`samechange-${transport}`);
    const org = await createOrg(emulator.url);
    const svc = await startTestService({ prefix, env: transportEnv(emulator, transport) });
    const reader = await readEvents(prefix);
    // A second, independent observer of the same org: the polling source on its own session.
    const session = new OrgSession({
      connectionId: 'poll-observer',
      orgId: org.orgId,
      instanceUrl: org.instanceUrl,
      oauth: org,
      refreshToken: org.refreshToken,
      logger: testLogger(),
      egress: emulatorEgress,
    });
    const polled: ForcehookEvent[] = [];
    const poller = createPoller({
      session,
      objects: ['Contact'],
      cursors: new Map(),
      minIntervalMs: 300,
      budgetShare: 1,
      logger: testLogger(),
      handle: async (changes, ctx) => {
        polled.push(...detectBatch(changes, { orgId: org.orgId, connectionId: 'poll-observer', previousCampaignId: ctx.previousCampaignId.bind(ctx) }));
      },
      commit: async () => undefined,
    });
    try {
      const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      for (const trigger of ['record.created', 'record.updated', 'record.deleted']) {
        await svc.api('POST', '/v1/subscriptions', {
          connectionId: c.body.id,
          trigger,
          object: 'Contact',
          destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
        });
      }
      // `running`: the channel is live, so the change below streams (before, it is caught up through REST).
      await waitUntil(
        async () => {
          const view = (await svc.api<{ subscriber: string; objects: { mode: string }[] }>('GET', `/v1/connections/${c.body.id}`)).body;
          return view.objects[0]?.mode === 'cdc' && view.subscriber === 'running';
        },
        20_000,
        'cdc mode, stream live',
      );
      await poller.pollOnce(); // sets the poller's starting point
      const user = orgUser(org);
      const contact = await user.sobject('Contact').create({ LastName: 'Hopper', Email: 'grace@example.com' });
      const both = async (type: string) => {
        await reader.waitFor((e) => e.some((x) => x.type === type && x.subject === contact.id), 20_000, `cdc ${type}`);
        await waitUntil(
          async () => {
            await poller.pollOnce();
            return polled.some((x) => x.type === type && x.subject === contact.id);
          },
          20_000,
          `polled ${type}`,
        );
      };
      await both('salesforce.record.created');
      await user.sobject('Contact').update({ Id: contact.id!, Email: 'hopper@example.com' });
      await both('salesforce.record.updated');
      await user.sobject('Contact').destroy(contact.id!);
      await both('salesforce.record.deleted');

      for (const type of ['salesforce.record.created', 'salesforce.record.updated', 'salesforce.record.deleted']) {
        const streamed = reader.events.find((e) => e.type === type && e.subject === contact.id)!;
        const viaPoll = polled.find((e) => e.type === type && e.subject === contact.id)!;
        expect(streamed.data.detectedBy).toBe('cdc');
        expect(viaPoll.data.detectedBy).toBe('polling');
      }

      // The service reads a streamed change again through REST (a GAP_OVERFLOW makes it reconcile the
      // entity, from the overlap margin before the event): the row is proven to be the streamed UPDATE.
      const second = await user.sobject('Contact').create({ LastName: 'Lovelace' });
      // In a later second than the create: within one second, the row would still read as its CREATE.
      const createdSecond = Math.floor(emulator.emulator.clock.now() / 1000);
      await waitUntil(async () => Math.floor(emulator.emulator.clock.now() / 1000) > createdSecond, 5_000, 'the next second');
      await user.sobject('Contact').update({ Id: second.id!, Email: 'ada@example.com' });
      await reader.waitFor((e) => e.some((x) => x.type === 'salesforce.record.updated' && x.subject === second.id), 20_000, 'cdc update');
      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/changes`, {
        payload: {
          ChangeEventHeader: {
            entityName: 'Contact',
            recordIds: ['003000000000000AAA'],
            changeType: 'GAP_OVERFLOW',
            changeOrigin: '',
            transactionKey: 'overflow-1',
            sequenceNumber: 1,
            commitTimestamp: Date.now(),
            commitNumber: 1,
            commitUser: org.orgId,
            changedFields: [],
          },
        },
      });
      await reader.waitFor((e) => e.some((x) => x.subject === second.id && x.data.detectedBy === 'reconcile'), 20_000, 'reconciled');
      const updates = reader.events.filter((e) => e.type === 'salesforce.record.updated' && e.subject === second.id);
      expect(new Set(updates.map((e) => e.id)).size).toBe(1);
      expect(updates.map((e) => e.data.detectedBy).sort()).toEqual(['cdc', 'reconcile']);
    } finally {
      await poller.stop();
      session.close();
      await reader.stop();
      await svc.stop();
    }
  }, 120_000);

  it("a lead conversion's transaction arrives in commit order", async () => {
    const prefix = uniquePrefix(`convert-${transport}`);
    const org = await createOrg(emulator.url);
    const svc = await startTestService({ prefix, env: transportEnv(emulator, transport) });
    const reader = await readEvents(prefix);
    try {
      const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
        loginUrl: org.loginUrl,
        clientId: org.clientId,
        clientSecret: org.clientSecret,
        refreshToken: org.refreshToken,
      });
      const subs = [
        { trigger: 'record.created', object: 'Account' },
        { trigger: 'record.created', object: 'Contact' },
        { trigger: 'record.created', object: 'Opportunity' },
        { trigger: 'record.updated', object: 'Lead' },
      ];
      for (const s of subs)
        await svc.api('POST', '/v1/subscriptions', { connectionId: c.body.id, ...s, destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' } });
      await waitUntil(
        async () => (await svc.api<{ subscriber: string; objects: unknown[] }>('GET', `/v1/connections/${c.body.id}`)).body.objects.length === 4,
        20_000,
        'following',
      );
      await waitUntil(
        async () => (await svc.api<{ subscriber: string }>('GET', `/v1/connections/${c.body.id}`)).body.subscriber === 'running',
        20_000,
        'running',
      );
      const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Convert', Company: 'Convertible Inc' });
      const converted = await adminCall<{ accountId: string; contactId: string; opportunityId: string }>(
        emulator.url,
        'POST',
        `/__emulator/orgs/${org.orgId}/lead-convert`,
        { leadId: lead.id },
      );
      await reader.waitFor((e) => e.some((x) => x.type === 'salesforce.record.updated' && x.subject === lead.id), 20_000, 'lead update');
      // The events topic carries every change of a followed object; the conversion is one transaction of them.
      const key = reader.events.find((e) => e.subject === converted.accountId)!.data.transactionKey;
      const tx = reader.events.filter((e) => e.data.transactionKey === key);
      expect(tx.map((e) => e.data.object)).toEqual(['Account', 'Contact', 'Opportunity', 'Lead']);
      expect(new Set(tx.map((e) => e.data.transactionKey)).size).toBe(1);
      expect(tx.map((e) => e.data.sequenceNumber)).toEqual([...tx.map((e) => e.data.sequenceNumber)].sort((a, b) => Number(a) - Number(b)));
    } finally {
      await reader.stop();
      await svc.stop();
    }
  }, 120_000);
});
