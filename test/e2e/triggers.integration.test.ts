/**
 * "For each trigger, on a standard and on a custom object, in CDC mode
 * and in polling mode": the emulator is changed through jsforce, the service
 * follows the org, and the test reads the events back from Kafka with the
 * cloudevents SDK. Each step waits for its event before the next one, so that
 * polling (which sees states, not transitions) observes every step too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forcehookEventSchema } from '../../src/events/schema.js';
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
  CDC_TRANSPORTS,
  waitUntil,
  type CdcTransportName,
  type ReceivedEvent,
  type TestService,
} from '../../testkit/service.js';

const CUSTOM = [{ name: 'Invoice__c', fields: [{ name: 'Amount__c', type: 'currency' }] }];
const TRIGGERS: { trigger: string; object?: string }[] = [
  { trigger: 'record.created', object: 'Lead' },
  { trigger: 'record.updated', object: 'Lead' },
  { trigger: 'record.deleted', object: 'Lead' },
  { trigger: 'record.undeleted', object: 'Lead' },
  { trigger: 'record.created', object: 'Invoice__c' },
  { trigger: 'record.updated', object: 'Invoice__c' },
  { trigger: 'record.deleted', object: 'Invoice__c' },
  { trigger: 'campaign_member.added' },
  { trigger: 'campaign_opportunity.added' },
];

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

async function runScenario(mode: 'cdc' | 'polling', transport: CdcTransportName = 'cometd') {
  const prefix = uniquePrefix(`triggers-${mode}-${transport}`);
  const org = await createOrg(emulator.url, { customObjects: CUSTOM, ...(mode === 'polling' ? { cdcEntities: [] } : {}) });
  const svc: TestService = await startTestService({ prefix, env: transportEnv(emulator, transport) });
  const reader = await readEvents(prefix);
  try {
    const created = await svc.api<{ id: string; orgId: string; status: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(created.status).toBe(201);
    expect(created.body.orgId).toBe(org.orgId);
    const connectionId = created.body.id;
    for (const t of TRIGGERS) {
      const r = await svc.api('POST', '/v1/subscriptions', { connectionId, ...t, destination: { type: 'webhook', url: 'http://127.0.0.1:9/hook' } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // Follow is asynchronous: wait until every object runs in the expected mode.
    await waitUntil(
      async () => {
        const r = await svc.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
        return r.body.subscriber === 'running' && r.body.objects.length === 4 && r.body.objects.every((o) => o.mode === mode);
      },
      20_000,
      `all objects followed by ${mode}`,
    );
    if (mode === 'cdc') {
      // The stream runs on the transport under test, and only on it.
      await waitUntil(
        async () => {
          const st = await adminCall<{ streamingClients: number; pubsubSubscriptions: number }>(emulator.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
          return transport === 'pubsub' ? st.pubsubSubscriptions > 0 && st.streamingClients === 0 : st.streamingClients > 0 && st.pubsubSubscriptions === 0;
        },
        20_000,
        `CDC followed over ${transport}`,
      );
    }
    if (mode === 'polling') await new Promise((r) => setTimeout(r, 1_500)); // let the first cycle set the cursors

    const user = orgUser(org);
    const has = (type: string, id: string) => (e: ReceivedEvent[]) => e.some((x) => x.type === `salesforce.${type}` && x.subject === id);
    const step = (type: string, id: string) => reader.waitFor(has(type, id), 30_000, `${type} ${id}`);

    const lead = await user.sobject('Lead').create({ LastName: 'Lovelace', Company: 'Analytical Engines' });
    const leadId = lead.id!;
    await step('record.created', leadId);
    await user.sobject('Lead').update({ Id: leadId, Company: 'Difference Engines' });
    await step('record.updated', leadId);

    const invoice = await user.sobject('Invoice__c').create({ Name: 'INV-1', Amount__c: 10 });
    await step('record.created', invoice.id!);
    await user.sobject('Invoice__c').update({ Id: invoice.id!, Amount__c: 12.5 });
    await step('record.updated', invoice.id!);
    await user.sobject('Invoice__c').destroy(invoice.id!);
    await step('record.deleted', invoice.id!);

    const campaign = await user.sobject('Campaign').create({ Name: 'Spring launch' });
    const member = await user.sobject('CampaignMember').create({ CampaignId: campaign.id!, LeadId: leadId, Status: 'Sent' });
    await step('campaign_member.added', member.id!);
    const account = await user.sobject('Account').create({ Name: 'Acme' });
    const opp = await user
      .sobject('Opportunity')
      .create({ Name: 'Big deal', StageName: 'Prospecting', CloseDate: '2030-01-01', AccountId: account.id!, CampaignId: campaign.id! });
    await step('campaign_opportunity.added', opp.id!);

    await user.sobject('Lead').destroy(leadId);
    await step('record.deleted', leadId);
    await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/undelete`, { ids: [leadId] });
    await step('record.undeleted', leadId);

    const events = reader.events;
    for (const e of events) {
      // Every event is a valid forcehook CloudEvent, keyed for per-record order.
      expect(forcehookEventSchema.safeParse({ specversion: '1.0', datacontenttype: 'application/json', ...e, key: undefined }).success).toBe(true);
      expect(e.key).toBe(`${org.orgId}:${e.subject}`);
      expect(e.source).toBe(`/salesforce/${org.orgId}`);
      expect(e.data.connectionId).toBe(connectionId);
      expect(e.data.detectedBy).toBe(mode);
    }
    const updated = events.find((e) => e.type === 'salesforce.record.updated' && e.subject === leadId)!;
    if (mode === 'cdc') expect(updated.data.changedFields).toContain('Company');
    expect(updated.data.record.Company).toBe('Difference Engines');
    const cm = events.find((e) => e.type === 'salesforce.campaign_member.added')!;
    expect(cm.data).toMatchObject({ object: 'CampaignMember', campaignId: campaign.id, leadId });
    const co = events.find((e) => e.type === 'salesforce.campaign_opportunity.added')!;
    expect(co.data).toMatchObject({ object: 'Opportunity', campaignId: campaign.id, opportunityId: opp.id });
    // A CampaignMember CREATE is also a record.created of CampaignMember only if subscribed: it is not here.
    expect(events.filter((e) => e.type === 'salesforce.record.created' && e.subject === leadId)).toHaveLength(1);
    // Undelete is not a New Record.
    expect(events.filter((e) => e.type === 'salesforce.record.created' && e.subject === leadId).length).toBe(1);
    return events;
  } finally {
    await reader.stop();
    await svc.stop();
  }
}

describe('the five triggers end to end', () => {
  it.each(CDC_TRANSPORTS)(
    'CDC mode over %s: every trigger on a standard and a custom object',
    async (transport) => {
      await runScenario('cdc', transport);
    },
    180_000,
  );

  it('polling mode: the same triggers when the entities are not selected for CDC', async () => {
    await runScenario('polling');
  }, 180_000);
});
