/**
 * Gap and overflow events from real writes, against the emulator and the real broker. A write past 1 MB
 * arrives as a GAP_UPDATE; a mass update past the org's overflow threshold streams its first changes and
 * sends the rest only as a GAP_OVERFLOW. The service reads both back through REST. Records read back carry
 * no list of changed fields; a `record.updated` subscription with `fields` and `campaign_opportunity.added`
 * must still hear about every one of them, and a record too large for one Kafka message must not hold up
 * the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';
import { adminCall, createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
let svc: TestService | undefined;
const receivers: Receiver[] = [];
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await Promise.allSettled(receivers.map((r) => r.close()));
  await svc?.stop();
  await emulator?.close();
});

const THRESHOLD = 50;
const RECORDS = 60;

async function connect(org: { loginUrl: string; clientId: string; clientSecret: string; refreshToken: string }, service: TestService): Promise<string> {
  const c = await service.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(c.status).toBe(201);
  return c.body.id;
}

async function subscribe(service: TestService, body: Record<string, unknown>): Promise<Receiver> {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const r = await service.api<{ secret: string }>('POST', '/v1/subscriptions', { destination: { type: 'webhook', url: receiver.url }, ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  receiver.secrets = [r.body.secret];
  return receiver;
}

async function streaming(service: TestService, connectionId: string, objects: number): Promise<void> {
  await waitUntil(
    async () => {
      const r = await service.api<{ subscriber: string; objects: { mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
      return r.body.subscriber === 'running' && r.body.objects.length === objects && r.body.objects.every((o) => o.mode === 'cdc');
    },
    20_000,
    'objects streamed',
  );
}

describe('a gap event from a write past 1 MB', () => {
  it('is read back: a fields-filtered subscription hears it, its largest texts left out, and the stream goes on', async () => {
    const texts = ['A__c', 'B__c', 'C__c'].map((name) => ({ name, type: 'LongTextArea', length: 131_072 }));
    const org = await createOrg(emulator.url, { customObjects: [{ name: 'Doc__c', fields: [...texts, { name: 'Status__c', type: 'Text', length: 40 }] }] });
    const service = await startTestService({ prefix: uniquePrefix('gap') });
    try {
      const connectionId = await connect(org, service);
      const statuses = await subscribe(service, { connectionId, trigger: 'record.updated', object: 'Doc__c', fields: ['Status__c'] });
      await streaming(service, connectionId, 1);
      const user = orgUser(org);
      const doc = (await user.sobject('Doc__c').create({ Status__c: 'draft' })) as { id: string };
      await adminCall(emulator.url, 'POST', '/__emulator/clock', { advanceMs: 2_000 });
      // Three-byte characters: 1.18 MB of UTF-8 in one change.
      const big = '€'.repeat(131_072);
      await user.sobject('Doc__c').update({ Id: doc.id, Status__c: 'final', A__c: big, B__c: big, C__c: big });
      // The read back shows the record as it is when read: wait for it before changing the record again.
      await waitUntil(() => statuses.received.length >= 1, 60_000, 'the gap read back delivered');
      await adminCall(emulator.url, 'POST', '/__emulator/clock', { advanceMs: 2_000 });
      await user.sobject('Doc__c').update({ Id: doc.id, Status__c: 'archived' });
      await waitUntil(() => statuses.received.length >= 2, 60_000, 'the next change delivered');
      const [gap, after] = statuses.received.map((x) => x.event.data as Record<string, unknown>);
      expect(gap).toMatchObject({
        changeType: 'UPDATE',
        detectedBy: 'reconcile',
        changedFieldsUnknown: true,
        changedFields: [],
        record: { Status__c: 'final' },
      });
      expect((gap!['omittedFields'] as string[]).length).toBeGreaterThan(0);
      expect(after).toMatchObject({
        changeType: 'UPDATE',
        detectedBy: 'cdc',
        changedFields: expect.arrayContaining(['Status__c']),
        record: { Status__c: 'archived' },
      });
      expect(statuses.invalid).toEqual([]);
    } finally {
      await service.stop();
    }
  }, 120_000);
});

describe('an overflow from a mass update', () => {
  it('every record reaches a fields-filtered record.updated subscription and campaign_opportunity.added, also those read back', async () => {
    const org = await createOrg(emulator.url, { overflowThreshold: THRESHOLD });
    const prefix = uniquePrefix('overflow');
    svc = await startTestService({ prefix });
    const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const connectionId = c.body.id;
    const subscribe = async (body: Record<string, unknown>) => {
      const receiver = await startReceiver();
      receivers.push(receiver);
      const r = await svc!.api<{ secret: string }>('POST', '/v1/subscriptions', { connectionId, destination: { type: 'webhook', url: receiver.url }, ...body });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      receiver.secrets = [r.body.secret];
      return receiver;
    };
    const titles = await subscribe({ trigger: 'record.updated', object: 'Contact', fields: ['Title'] });
    const campaigns = await subscribe({ trigger: 'campaign_opportunity.added' });
    await waitUntil(
      async () => {
        const r = await svc!.api<{ subscriber: string; objects: { mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
        return r.body.subscriber === 'running' && r.body.objects.length === 2 && r.body.objects.every((o) => o.mode === 'cdc');
      },
      20_000,
      'Contact and Opportunity streamed',
    );

    const user = orgUser(org);
    const campaign = (await user.sobject('Campaign').create({ Name: 'Spring' })) as { id: string };
    const contacts: string[] = [];
    const opportunities: string[] = [];
    // Created in requests below the threshold: these stream as change events.
    for (let i = 0; i < RECORDS; i += 30) {
      const cs = (await user.sobject('Contact').create(
        Array.from({ length: 30 }, (_, j) => ({ LastName: `Mass ${i + j}` })),
        { allOrNone: true },
      )) as { id: string }[];
      contacts.push(...cs.map((r) => r.id));
      const os = (await user.sobject('Opportunity').create(
        Array.from({ length: 30 }, (_, j) => ({ Name: `Deal ${i + j}`, StageName: 'Prospecting', CloseDate: '2030-01-01' })),
        { allOrNone: true },
      )) as { id: string }[];
      opportunities.push(...os.map((r) => r.id));
    }
    // Stamps are whole seconds: the updates come a second later, so that a row read back is not its creation.
    await adminCall(emulator.url, 'POST', '/__emulator/clock', { advanceMs: 2_000 });

    // One transaction each, more changes than the threshold: the last ten only as a GAP_OVERFLOW.
    await user.sobject('Contact').update(
      contacts.map((Id) => ({ Id, Title: 'VP' })),
      { allOrNone: true },
    );
    await user.sobject('Opportunity').update(
      opportunities.map((Id) => ({ Id, CampaignId: campaign.id })),
      { allOrNone: true },
    );

    const short = (id: string) => id.slice(0, 15);
    const subjects = (r: Receiver) => new Set(r.received.map((x) => short(String(x.event.subject))));
    await waitUntil(() => contacts.every((id) => subjects(titles).has(short(id))), 60_000, 'a Title delivery for every contact').catch((err: Error) => {
      throw new Error(`${err.message}: ${subjects(titles).size} of ${RECORDS}`);
    });
    await waitUntil(() => opportunities.every((id) => subjects(campaigns).has(short(id))), 60_000, 'a campaign delivery for every opportunity').catch(
      (err: Error) => {
        throw new Error(`${err.message}: ${subjects(campaigns).size} of ${RECORDS}`);
      },
    );

    // Some arrived only through the read back, and say that their changed fields are unknown.
    const readBack = titles.received.filter((x) => (x.event.data as { detectedBy?: string }).detectedBy === 'reconcile');
    expect(readBack.length).toBeGreaterThanOrEqual(RECORDS - THRESHOLD);
    for (const x of readBack)
      expect(x.event.data).toMatchObject({ changeType: 'UPDATE', changedFields: [], changedFieldsUnknown: true, record: { Title: 'VP' } });
    const campaignReadBack = campaigns.received.filter((x) => (x.event.data as { detectedBy?: string }).detectedBy === 'reconcile');
    expect(campaignReadBack.length).toBeGreaterThanOrEqual(RECORDS - THRESHOLD);
    expect(titles.invalid).toEqual([]);
  }, 180_000);
});
