/**
 * Field mappings per connection, through the API: checked against the org's describe (custom objects
 * and fields included), named by subscriptions instead of an object, `data.mapped` on the events each
 * such subscription receives (per subscription: two mappings of one event differ), labels in `fields`,
 * and a field the org deletes later becoming a warning, not a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';
import { adminCall, createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type OrgCredentials, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
let svc: TestService;
let org: OrgCredentials;
let receiver: Receiver;
let connectionId: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url, {
    customObjects: [
      {
        name: 'Invoice__c',
        fields: [
          { name: 'Amount__c', type: 'currency' },
          { name: 'Customer_Email__c', type: 'email' },
        ],
      },
    ],
  });
  svc = await startTestService({ prefix: uniquePrefix('mappings') });
  receiver = await startReceiver({ verify: 'any' });
  const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(c.status).toBe(201);
  connectionId = c.body.id;
});
afterAll(async () => {
  await svc?.stop();
  await receiver?.close();
  await emulator?.close();
});

type ErrorBody = { error: { code: string; message: string } };
const mappingsUrl = () => `/v1/connections/${connectionId}/mappings`;

describe('field mappings', () => {
  it('are checked against the org: unknown fields, objects and bad labels are 400s naming them', async () => {
    const noField = await svc.api<ErrorBody>('PUT', `${mappingsUrl()}/invoice`, { object: 'Invoice__c', fields: { amount: 'Amount__c', due: 'Due__c' } });
    expect(noField.status).toBe(400);
    expect(noField.body.error.message).toBe("body.fields: Invoice__c has no field 'Due__c'");
    const noObject = await svc.api<ErrorBody>('PUT', `${mappingsUrl()}/invoice`, { object: 'Shipment__c', fields: { amount: 'Amount__c' } });
    expect(noObject.status).toBe(400);
    expect(noObject.body.error.message).toMatch(/^body\.object: the org has no object 'Shipment__c'/);
    const badLabel = await svc.api<ErrorBody>('PUT', `${mappingsUrl()}/invoice`, { object: 'Invoice__c', fields: { 'deal size': 'Amount__c' } });
    expect(badLabel.status).toBe(400);
    expect(badLabel.body.error.message).toMatch(/^body\.fields/);
    const empty = await svc.api<ErrorBody>('PUT', `${mappingsUrl()}/invoice`, { object: 'Invoice__c', fields: {} });
    expect(empty.status).toBe(400);
    expect((await svc.api('PUT', '/v1/connections/nope/mappings/invoice', { object: 'Lead', fields: { email: 'Email' } })).status).toBe(404);
  });

  it("put data.mapped on each subscription's events, filter updates by label, and warn when the org drops a field", async () => {
    const put = await svc.api<{ object: string; fields: Record<string, string> }>('PUT', `${mappingsUrl()}/invoice`, {
      object: 'invoice__c',
      fields: { amount: 'amount__c', email: 'customer_email__c' },
    });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({ object: 'Invoice__c', fields: { amount: 'Amount__c', email: 'Customer_Email__c' } });
    expect((await svc.api('PUT', `${mappingsUrl()}/billing`, { object: 'Invoice__c', fields: { total: 'Amount__c' } })).status).toBe(201);
    const list = await svc.api<{ data: { name: string }[] }>('GET', mappingsUrl());
    expect(list.body.data.map((m) => m.name)).toEqual(['billing', 'invoice']);

    const subscribe = async (body: Record<string, unknown>) => {
      const r = await svc.api<{ id: string; object: string; fields?: string[]; secret: string } & ErrorBody>('POST', '/v1/subscriptions', {
        connectionId,
        destination: { type: 'webhook', url: receiver.url },
        ...body,
      });
      if (r.status === 201) receiver.secrets.push(r.body.secret);
      return r;
    };
    const both = await subscribe({ trigger: 'record.created', mapping: 'invoice', object: 'Invoice__c' });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toBe('body.mapping: either object or mapping, not both');
    const unknown = await subscribe({ trigger: 'record.created', mapping: 'nope' });
    expect(unknown.body.error.message).toBe(`body.mapping: connection ${connectionId} has no mapping 'nope'`);
    const created = await subscribe({ trigger: 'record.created', mapping: 'invoice' });
    expect(created.status).toBe(201);
    expect(created.body.object).toBe('Invoice__c');
    expect((await subscribe({ trigger: 'record.created', mapping: 'billing' })).status).toBe(201);
    const updated = await subscribe({ trigger: 'record.updated', mapping: 'invoice', fields: ['amount'] });
    expect(updated.status).toBe(201);
    expect(updated.body.fields).toEqual(['Amount__c']);

    const user = orgUser(org);
    const rec = await user.sobject('Invoice__c').create({ Name: 'INV-1', Amount__c: 42, Customer_Email__c: 'ada@example.com' });
    const recordId = (rec as { id: string }).id;
    const mappedOf = (type: string) =>
      receiver.received
        .filter((r) => r.event.type === type && String(r.event.subject).startsWith(recordId.slice(0, 15)))
        .map((r) => r.event.data?.mapped as Record<string, unknown> | undefined);
    await waitUntil(() => mappedOf('salesforce.record.created').length === 2, 30_000, 'both mapped deliveries of the created invoice');
    expect(mappedOf('salesforce.record.created')).toEqual(expect.arrayContaining([{ amount: 42, email: 'ada@example.com' }, { total: 42 }]));

    // Only Amount__c (label `amount`) fires the update subscription; an email change alone does not.
    await user.sobject('Invoice__c').update({ Id: recordId, Customer_Email__c: 'grace@example.com' });
    await user.sobject('Invoice__c').update({ Id: recordId, Amount__c: 50 });
    await waitUntil(() => mappedOf('salesforce.record.updated').length >= 1, 30_000, 'the mapped update');
    expect(mappedOf('salesforce.record.updated')).toEqual([{ amount: 50 }]);

    // A mapping in use stays until its subscriptions go.
    const del = await svc.api<ErrorBody>('DELETE', `${mappingsUrl()}/invoice`);
    expect(del.status).toBe(409);

    // An admin deletes a field the mapping names: the connection warns; delivery goes on without that label.
    await adminCall(emulator.url, 'DELETE', `/__emulator/orgs/${org.orgId}/custom-objects/Invoice__c/fields/Customer_Email__c`);
    const checked = await svc.api<{ data: { name: string; missing?: string[] }[] }>('GET', mappingsUrl());
    expect(checked.body.data.find((m) => m.name === 'invoice')?.missing).toEqual(['Customer_Email__c']);
    expect(checked.body.data.find((m) => m.name === 'billing')?.missing).toBeUndefined();
    const view = await svc.api<{ status: string; warnings: { code: string; message: string }[] }>('GET', `/v1/connections/${connectionId}`);
    expect(view.body.status).toBe('active');
    expect(view.body.warnings).toContainEqual(
      expect.objectContaining({ code: 'MAPPING_FIELD_MISSING', message: expect.stringContaining("'Customer_Email__c'") }),
    );
    const rec2 = await user.sobject('Invoice__c').create({ Name: 'INV-2', Amount__c: 7 });
    const id2 = (rec2 as { id: string }).id;
    await waitUntil(
      () => receiver.received.some((r) => String(r.event.subject).startsWith(id2.slice(0, 15)) && (r.event.data?.mapped as { amount?: number })?.amount === 7),
      30_000,
      'the next invoice delivered with what the mapping still has',
    );
    const got = receiver.received.find(
      (r) => String(r.event.subject).startsWith(id2.slice(0, 15)) && (r.event.data?.mapped as { amount?: number })?.amount === 7,
    );
    expect(got?.event.data?.mapped).toEqual({ amount: 7 });
    expect(receiver.invalid).toEqual([]);
  });
});
