import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import PubSubApiClient from 'salesforce-pubsub-api-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, connect, newOrg, start, type Any, type OrgCredentials } from '../../../testkit/emulator/support.js';
import { waitUntil } from '../../../testkit/wait.js';
import { pubsubClientConstructor, replayIdToBytes } from '../../salesforce/pubsub/proto.js';
import type { RunningEmulator } from '../server.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function accessToken(org: OrgCredentials): Promise<string> {
  const conn = connect(org);
  await conn.query('SELECT Id FROM Account LIMIT 1');
  return conn.accessToken!;
}

function ownClient(em: RunningEmulator, org: OrgCredentials, token: string): Any {
  const meta = new grpc.Metadata();
  meta.set('accesstoken', token);
  meta.set('instanceurl', org.instanceUrl);
  meta.set('tenantid', org.orgId);
  const creds = grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(readFileSync(em.pubsub!.caFile)),
    grpc.credentials.createFromMetadataGenerator((_p, cb) => cb(null, meta)),
  );
  const Ctor = pubsubClientConstructor();
  return new Ctor(em.pubsub!.address, creds);
}

function statusOf(call: Any): Promise<{ code: number; errorCode: unknown; details: string }> {
  return new Promise((resolve) => {
    call.on('data', () => {});
    call.on('error', (e: grpc.ServiceError) => resolve({ code: e.code, errorCode: e.metadata?.get('error-code')[0], details: e.details }));
  });
}

describe('Pub/Sub API', () => {
  let em: RunningEmulator;
  let org: OrgCredentials;
  let token: string;
  beforeAll(async () => {
    em = await start({ pubsub: { keepaliveMs: 200 } });
    org = await newOrg(em.url, { customObjects: [{ name: 'Invoice__c', fields: [{ name: 'Amount__c', type: 'currency' }] }] });
    token = await accessToken(org);
  });
  afterAll(async () => {
    await em.close();
  });

  it("Salesforce's published Node client subscribes unchanged and decodes the change events and their bitmaps", async () => {
    const client = new PubSubApiClient(
      {
        authType: 'user-supplied',
        accessToken: token,
        // The client insists on an https instance URL; the emulator's REST side is plain http (the host is what counts).
        instanceUrl: org.instanceUrl.replace(/^http:/, 'https:'),
        organizationId: org.orgId,
        pubSubEndpoint: em.pubsub!.address,
        // The client trusts only its bundled public roots; the emulator's CA is private.
        rejectUnauthorizedSsl: false,
      },
      silent,
    );
    await client.connect();
    const got: Any[] = [];
    const keepalives: Any[] = [];
    client.subscribe(
      '/data/AccountChangeEvent',
      (sub: Any, type: string, data: Any) => {
        if (type === 'event') got.push(data);
        if (type === 'grpcKeepAlive') keepalives.push({ ...sub });
      },
      10,
    );
    await waitUntil(() => em.pubsub!.server.subscriptions(org.orgId) === 1, 5000, 'subscribed');
    const conn = connect(org);
    const created = (await conn.sobject('Account').create({ Name: 'Acme', Phone: '555', BillingCity: 'Paris' })) as Any;
    await conn.sobject('Account').update({ Id: created.id, Name: 'Acme 2', Phone: null, BillingCity: 'Lyon' });
    await waitUntil(() => got.length === 2, 5000, 'two events');
    const [c, u] = got;
    expect(c.payload.ChangeEventHeader.changeType).toBe('CREATE');
    expect(c.payload.ChangeEventHeader.recordIds).toEqual([created.id]);
    expect(c.payload.Name).toBe('Acme');
    expect(c.payload.BillingAddress.City).toBe('Paris');
    expect(typeof c.payload.CreatedDate).toBe('number');
    expect(u.payload.ChangeEventHeader.changeType).toBe('UPDATE');
    expect(u.payload.ChangeEventHeader.changedFields.sort()).toEqual(['BillingAddress.City', 'LastModifiedDate', 'Name', 'Phone']);
    expect(u.payload.ChangeEventHeader.nulledFields).toEqual(['Phone']);
    expect(u.payload.ChangeEventHeader.diffFields).toEqual([]);
    // Unchanged fields arrive null.
    expect(u.payload.Type).toBeNull();
    expect(u.replayId).toBeGreaterThan(c.replayId);
    // The keepalive's latest replay id is what the client keeps as its position.
    await waitUntil(() => keepalives.some((k) => k.lastReplayId >= u.replayId), 5000, 'a keepalive at the latest replay id');
    client.close();
  });

  it('sends the raw bitmaps as Salesforce does: hex of schema positions, compounds as position-bitmap', async () => {
    const client = ownClient(em, org, token);
    const call = client.Subscribe();
    const events: Any[] = [];
    call.on('data', (r: Any) => events.push(...r.events));
    const subscribed = new Promise((resolve) => call.once('metadata', resolve));
    call.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'LATEST', numRequested: 5 });
    await subscribed;
    const conn = connect(org);
    const created = (await conn.sobject('Account').create({ Name: 'Bits' })) as Any;
    await conn.sobject('Account').update({ Id: created.id, BillingCity: 'Nice' });
    await waitUntil(() => events.length === 2, 5000, 'two events');
    const schema: Any = await new Promise((resolve, reject) =>
      client.GetSchema({ schemaId: events[1].event.schemaId }, (e: Any, r: Any) => (e ? reject(e) : resolve(r))),
    );
    const fields = JSON.parse(schema.schemaJson).fields.map((f: Any) => f.name);
    const avsc = (await import('avsc')).default;
    const decoded: Any = avsc.Type.forSchema(JSON.parse(schema.schemaJson)).fromBuffer(events[1].event.payload);
    const changed: string[] = decoded.ChangeEventHeader.changedFields;
    const top = BigInt(changed[0]!);
    expect(changed[0]).toMatch(/^0x(?:[0-9A-F]{2})+$/);
    expect(top).toBe(1n << BigInt(fields.indexOf('LastModifiedDate')));
    expect(changed[1]).toMatch(new RegExp(`^${fields.indexOf('BillingAddress')}-0x[0-9A-F]+$`));
    expect(events[1].replayId).toHaveLength(8);
    call.on('error', () => {});
    call.cancel();
    client.close();
  });

  it('gives a custom object a new schema id once a field is added', async () => {
    const client = ownClient(em, org, token);
    const topic: Any = await new Promise((resolve, reject) =>
      client.GetTopic({ topicName: '/data/Invoice__ChangeEvent' }, (e: Any, r: Any) => (e ? reject(e) : resolve(r))),
    );
    const r = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/objects/Invoice__c/fields`, { fields: [{ name: 'Due__c', type: 'date' }] });
    expect(r.status).toBe(201);
    const after: Any = await new Promise((resolve, reject) =>
      client.GetTopic({ topicName: '/data/Invoice__ChangeEvent' }, (e: Any, r: Any) => (e ? reject(e) : resolve(r))),
    );
    expect(after.schemaId).not.toBe(topic.schemaId);
    expect(topic.tenantGuid).toBe(org.orgId);
    client.close();
  });

  it("refuses a bad token with Salesforce's auth error code in the trailers", async () => {
    const client = ownClient(em, org, 'nope');
    const call = client.Subscribe();
    call.write({ topicName: '/data/AccountChangeEvent', numRequested: 1 });
    const s = await statusOf(call);
    expect(s.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(s.errorCode).toBe('sfdc.platform.eventbus.grpc.service.auth.error');
    client.close();
  });

  it('refuses a corrupted or expired replay id with replayid.corrupted', async () => {
    const client = ownClient(em, org, token);
    for (const replayId of [Buffer.from('zz'), replayIdToBytes('999999')]) {
      const call = client.Subscribe();
      call.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'CUSTOM', replayId, numRequested: 1 });
      const s = await statusOf(call);
      expect(s.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(s.errorCode).toBe('sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted');
      expect(s.details).toMatch(/rpcId: /);
    }
    client.close();
  });

  it('delivers no more than requested: the rest waits for the next FetchRequest', async () => {
    const client = ownClient(em, org, token);
    const call = client.Subscribe();
    const events: Any[] = [];
    const pending: number[] = [];
    call.on('data', (r: Any) => {
      events.push(...r.events);
      if (r.events.length) pending.push(r.pendingNumRequested);
    });
    const subscribed = new Promise((resolve) => call.once('metadata', resolve));
    call.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'LATEST', numRequested: 2 });
    await subscribed;
    const conn = connect(org);
    for (let i = 0; i < 4; i++) await conn.sobject('Account').create({ Name: `Flow ${i}` });
    await waitUntil(() => events.length === 2, 5000, 'two events');
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(2);
    expect(pending.at(-1)).toBe(0);
    call.write({ numRequested: 5 });
    await waitUntil(() => events.length === 4, 5000, 'the other two');
    call.on('error', () => {});
    call.cancel();
    client.close();
  });

  it("a keepalive's latest replay id never passes an event of the topic not sent yet (credit spent)", async () => {
    const client = ownClient(em, org, token);
    const call = client.Subscribe();
    const responses: Any[] = [];
    call.on('data', (r: Any) => responses.push(r));
    const subscribed = new Promise((resolve) => call.once('metadata', resolve));
    call.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'LATEST', numRequested: 1 });
    await subscribed;
    const conn = connect(org);
    for (let i = 0; i < 3; i++) await conn.sobject('Account').create({ Name: `Held ${i}` });
    await waitUntil(() => responses.some((r) => r.events.length === 0), 5000, 'a keepalive');
    const sent = responses.flatMap((r) => r.events);
    expect(sent).toHaveLength(1);
    const keepalive = responses.find((r) => r.events.length === 0);
    expect(keepalive.latestReplayId.readBigUInt64BE()).toBe(sent[0].replayId.readBigUInt64BE());
    call.on('error', () => {});
    call.cancel();
    client.close();
  });

  it('ends a stream with nothing requested once no FetchRequest came for the idle limit', async () => {
    const idle = await start({ pubsub: { staleAfterMs: 300, keepaliveMs: 100 } });
    try {
      const o = await newOrg(idle.url);
      const client = ownClient(idle, o, await accessToken(o));
      const call = client.Subscribe();
      const got: Any[] = [];
      call.on('data', (r: Any) => got.push(...r.events));
      const ended = new Promise<{ code: number }>((resolve) => call.on('status', resolve));
      const subscribed = new Promise((resolve) => call.once('metadata', resolve));
      call.write({ topicName: '/data/AccountChangeEvent', numRequested: 1 });
      await subscribed;
      await connect(o).sobject('Account').create({ Name: 'only one requested' });
      const status = await ended;
      expect(got).toHaveLength(1);
      expect(status.code).toBe(grpc.status.OK);
      client.close();
    } finally {
      await idle.close();
    }
  });

  it('answers the event delivery allocation spent with limit.exceeded', async () => {
    const small = await newOrg(em.url, { eventDeliveryDailyLimit: 1 });
    const t = await accessToken(small);
    const client = ownClient(em, small, t);
    const call = client.Subscribe();
    const subscribed = new Promise((resolve) => call.once('metadata', resolve));
    call.write({ topicName: '/data/AccountChangeEvent', replayPreset: 'LATEST', numRequested: 10 });
    const status = statusOf(call);
    await subscribed;
    const conn = connect(small);
    await conn.sobject('Account').create({ Name: 'one' });
    await conn.sobject('Account').create({ Name: 'two' });
    const s = await status;
    expect(s.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(s.errorCode).toBe('sfdc.platform.eventbus.grpc.subscription.limit.exceeded');
    client.close();
  });
});
