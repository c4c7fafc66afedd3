import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, newOrg, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';
import { waitUntil } from '../../testkit/wait.js';

let em: RunningEmulator;

beforeAll(async () => {
  em = await start();
});
afterAll(async () => {
  await em.close();
});

interface Listener {
  events: Any[];
  client: Any;
  next(n?: number): Promise<Any[]>;
}

/** Subscribes the way the service does: jsforce's own client with the Replay extension. */
async function listen(conn: jsforce.Connection, channel = '/data/ChangeEvents', replayId = -1, extra: Any[] = []): Promise<Listener> {
  const events: Any[] = [];
  const client = conn.streaming.createClient([new StreamingExtension.Replay(channel, replayId), ...extra]);
  await client.subscribe(channel, (m: Any) => events.push(m));
  let seen = 0;
  return {
    events,
    client,
    async next(n = 1) {
      await waitUntil(() => events.length >= seen + n, 5000, `${n} change event(s)`);
      const out = events.slice(seen, seen + n);
      seen += n;
      return out;
    },
  };
}

async function setup(body: Record<string, unknown> = {}): Promise<{ org: OrgCredentials; conn: jsforce.Connection }> {
  const org = await newOrg(em.url, body);
  const conn = connect(org);
  await conn.query('SELECT Id FROM User');
  return { org, conn };
}

describe('change data capture', () => {
  it('CREATE, UPDATE (changed fields only, compound sub-fields), DELETE and UNDELETE of an Account', async () => {
    const { org, conn } = await setup();
    const l = await listen(conn);
    const { id }: Any = await conn
      .sobject('Account')
      .create({ Name: 'Acme', BillingStreet: '415 Mission Street', BillingCity: 'San Francisco', Industry: 'Apparel' });
    const [created] = await l.next();
    const rec: Any = await conn.sobject('Account').retrieve(id);
    const h = created.payload.ChangeEventHeader;
    expect(Object.keys(h)).toEqual([
      'entityName',
      'recordIds',
      'changeType',
      'changeOrigin',
      'transactionKey',
      'sequenceNumber',
      'commitTimestamp',
      'commitNumber',
      'commitUser',
      'changedFields',
    ]);
    expect(h).toMatchObject({
      entityName: 'Account',
      recordIds: [id],
      changeType: 'CREATE',
      changeOrigin: 'com/salesforce/api/rest/59.0;client=SfdcInternalAPI/',
      sequenceNumber: 1,
      changedFields: [],
    });
    expect(h.transactionKey).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(h.commitUser).toBe(rec.OwnerId);
    expect(Number.isSafeInteger(h.commitNumber) && h.commitNumber > 1e12).toBe(true);
    // Whole seconds; SystemModstamp is the transaction's start, the commit is that second or later.
    expect(h.commitTimestamp % 1000).toBe(0);
    expect(h.commitTimestamp).toBeGreaterThanOrEqual(Date.parse(rec.SystemModstamp.replace('+0000', 'Z')));
    const { ChangeEventHeader: _h, ...body } = created.payload;
    expect(body).toEqual({
      Name: 'Acme',
      BillingAddress: { Street: '415 Mission Street', City: 'San Francisco' },
      Industry: 'Apparel',
      OwnerId: rec.OwnerId,
      CreatedDate: rec.CreatedDate.replace('+0000', 'Z'),
      CreatedById: rec.CreatedById,
      LastModifiedDate: rec.LastModifiedDate.replace('+0000', 'Z'),
      LastModifiedById: rec.LastModifiedById,
    });
    expect(created.event.replayId).toEqual(expect.any(Number));
    expect(typeof created.schema).toBe('string');

    await conn.sobject('Account').update({ Id: id, BillingCity: 'Oakland', Phone: '555-0100', Industry: null });
    const [updated] = await l.next();
    const after: Any = await conn.sobject('Account').retrieve(id);
    expect(updated.payload.ChangeEventHeader.changeType).toBe('UPDATE');
    expect(updated.payload.ChangeEventHeader.changedFields).toEqual(['BillingAddress.City', 'Phone', 'Industry', 'LastModifiedDate']);
    const { ChangeEventHeader: _u, ...changed } = updated.payload;
    // The current Streaming API guide: null fields are left out of the body, a nulled one is only in changedFields.
    expect(changed).toEqual({
      BillingAddress: { City: 'Oakland' },
      Phone: '555-0100',
      LastModifiedDate: after.LastModifiedDate.replace('+0000', 'Z'),
    });

    await conn.sobject('Account').destroy(id);
    const [deleted] = await l.next();
    expect(deleted.payload).toEqual({
      ChangeEventHeader: expect.objectContaining({ changeType: 'DELETE', recordIds: [id], changedFields: [] }),
    });

    const undone = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/undelete`, { ids: [id] });
    expect(undone.body[0].success).toBe(true);
    const [undeleted] = await l.next();
    expect(undeleted.payload.ChangeEventHeader).toMatchObject({ changeType: 'UNDELETE', recordIds: [id] });
    expect(undeleted.payload).toMatchObject({ Name: 'Acme', BillingAddress: { Street: '415 Mission Street', City: 'Oakland' }, Phone: '555-0100' });
    expect(undeleted.payload.Industry).toBeUndefined();
    l.client.disconnect();
  });

  it('person names travel as the Name compound', async () => {
    const { conn } = await setup();
    const l = await listen(conn, '/data/ContactChangeEvent');
    const { id }: Any = await conn.sobject('Contact').create({ FirstName: 'Grace', LastName: 'Hopper' });
    const [created] = await l.next();
    expect(created.payload.Name).toEqual({ FirstName: 'Grace', LastName: 'Hopper' });
    await conn.sobject('Contact').update({ Id: id, LastName: 'Murray Hopper' });
    const [updated] = await l.next();
    expect(updated.payload.ChangeEventHeader.changedFields).toEqual(['Name.LastName', 'LastModifiedDate']);
    expect(updated.payload.Name).toEqual({ LastName: 'Murray Hopper' });
    l.client.disconnect();
  });

  it('collections and composite are one transaction each; identical changes merge into one event', async () => {
    const { conn } = await setup();
    const l = await listen(conn);
    const created: Any = await conn.requestPost('/services/data/v59.0/composite/sobjects', {
      allOrNone: true,
      records: [
        { attributes: { type: 'Account' }, Name: 'One' },
        { attributes: { type: 'Account' }, Name: 'Two' },
      ],
    });
    const [c1, c2] = await l.next(2);
    expect(c1.payload.ChangeEventHeader.transactionKey).toBe(c2.payload.ChangeEventHeader.transactionKey);
    expect([c1.payload.ChangeEventHeader.sequenceNumber, c2.payload.ChangeEventHeader.sequenceNumber]).toEqual([1, 2]);

    await conn.requestPatch('/services/data/v59.0/composite/sobjects', {
      allOrNone: false,
      records: created.map((r: Any) => ({ attributes: { type: 'Account' }, id: r.id, Industry: 'Apparel' })),
    });
    const [merged] = await l.next();
    expect(merged.payload.ChangeEventHeader.recordIds).toEqual(created.map((r: Any) => r.id));
    expect(merged.payload.Industry).toBe('Apparel');

    const res: Any = await conn.requestPost('/services/data/v59.0/composite', {
      compositeRequest: [
        { method: 'POST', url: '/services/data/v59.0/sobjects/Account', referenceId: 'acc', body: { Name: 'Composite' } },
        { method: 'POST', url: '/services/data/v59.0/sobjects/Contact', referenceId: 'con', body: { LastName: 'C', AccountId: '@{acc.id}' } },
        { method: 'PATCH', url: '/services/data/v59.0/sobjects/Account/@{acc.id}', referenceId: 'upd', body: { Phone: '1' } },
      ],
    });
    expect(res.compositeResponse.map((r: Any) => r.httpStatusCode)).toEqual([201, 201, 204]);
    const [a, c] = await l.next(2);
    // Insert then update in one transaction is one CREATE with the committed values.
    expect(a.payload.ChangeEventHeader).toMatchObject({ entityName: 'Account', changeType: 'CREATE', sequenceNumber: 1 });
    expect(a.payload.Phone).toBe('1');
    expect(c.payload.ChangeEventHeader).toMatchObject({ entityName: 'Contact', changeType: 'CREATE', sequenceNumber: 2 });
    expect(c.payload.ChangeEventHeader.transactionKey).toBe(a.payload.ChangeEventHeader.transactionKey);
    await new Promise((r) => setTimeout(r, 100));
    expect(l.events).toHaveLength(5);
    l.client.disconnect();
  });

  it('unselected entities make no change events; custom objects have their own channel', async () => {
    const { org, conn } = await setup({
      cdcEntities: ['Invoice__c'],
      customObjects: [{ name: 'Invoice__c', fields: [{ name: 'Amount__c', type: 'currency' }] }],
    });
    const all = await listen(conn);
    await conn.sobject('Lead').create({ LastName: 'Unselected', Company: 'X' });
    const { id }: Any = await conn.sobject('Invoice__c').create({ Amount__c: 12.5 });
    const [inv] = await all.next();
    expect(inv.channel ?? '/data/ChangeEvents').toBeDefined();
    expect(inv.payload.ChangeEventHeader).toMatchObject({ entityName: 'Invoice__c', recordIds: [id] });
    expect(inv.payload).toMatchObject({ Amount__c: 12.5, Name: id });
    expect(all.events).toHaveLength(1);
    const sub: Any = conn.streaming.createClient([]);
    await expect(sub.subscribe('/data/LeadChangeEvent', () => {})).rejects.toBeTruthy();
    sub.disconnect();
    await admin(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/cdc-entities`, { entities: ['Lead'] });
    await conn.sobject('Lead').create({ LastName: 'Selected', Company: 'X' });
    const [lead] = await all.next();
    expect(lead.payload.ChangeEventHeader.entityName).toBe('Lead');
    all.client.disconnect();
  });

  it('lead conversion is one transaction: Account, Contact, Opportunity CREATEs, then the Lead UPDATE', async () => {
    const { org, conn } = await setup();
    const l = await listen(conn);
    const { id }: Any = await conn.sobject('Lead').create({ FirstName: 'Marc', LastName: 'B', Company: 'Cloud Inc', Email: 'marc@example.com' });
    await l.next();
    const converted = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/lead-convert`, { leadId: id });
    expect(converted.status).toBe(200);
    const events = await l.next(4);
    expect(
      events.map((e) => [e.payload.ChangeEventHeader.entityName, e.payload.ChangeEventHeader.changeType, e.payload.ChangeEventHeader.sequenceNumber]),
    ).toEqual([
      ['Account', 'CREATE', 1],
      ['Contact', 'CREATE', 2],
      ['Opportunity', 'CREATE', 3],
      ['Lead', 'UPDATE', 4],
    ]);
    expect(new Set(events.map((e) => e.payload.ChangeEventHeader.transactionKey)).size).toBe(1);
    const leadEvent = events[3].payload;
    for (const f of ['Status', 'IsConverted', 'ConvertedDate', 'ConvertedAccountId', 'ConvertedContactId', 'ConvertedOpportunityId']) {
      expect(leadEvent.ChangeEventHeader.changedFields).toContain(f);
    }
    expect(leadEvent).toMatchObject({ IsConverted: true, ConvertedAccountId: converted.body.accountId, ConvertedContactId: converted.body.contactId });
    l.client.disconnect();
  });

  it('-2 replays retained events; expire-replay makes old replayIds invalid with the reference string', async () => {
    const { org, conn } = await setup();
    await conn.sobject('Account').create({ Name: 'Before' });
    const replay = await listen(conn, '/data/AccountChangeEvent', -2);
    const [first] = await replay.next();
    expect(first.payload.Name).toBe('Before');
    replay.client.disconnect();
    const injected = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/changes`, {
      payload: {
        ChangeEventHeader: {
          entityName: 'Account',
          recordIds: ['000000000000000AAA'],
          changeType: 'GAP_OVERFLOW',
          changeOrigin: '',
          transactionKey: 'k',
          sequenceNumber: 1,
          commitTimestamp: 1,
          commitNumber: 1,
          commitUser: org.orgId,
          changedFields: [],
        },
      },
    });
    expect(injected.status).toBe(200);
    expect(injected.body.replayId).toBeGreaterThan(first.event.replayId);
    await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'expire-replay' });
    const stale: Any = conn.streaming.createClient([new StreamingExtension.Replay('/data/AccountChangeEvent', first.event.replayId)]);
    const err: Any = await stale
      .subscribe('/data/AccountChangeEvent', () => {})
      .then(
        () => null,
        (e: Any) => e,
      );
    expect(String(err?.message ?? err)).toContain(
      `The replayId {${first.event.replayId}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`,
    );
    stale.disconnect();
  });

  it('revoked refresh tokens end a live jsforce subscription through AuthFailure', async () => {
    const { org, conn } = await setup();
    const failures: Any[] = [];
    const l = await listen(conn, '/data/ChangeEvents', -1, [new StreamingExtension.AuthFailure((m: Any) => failures.push(m))]);
    const stats = await admin(em.url, 'GET', `/__emulator/orgs/${org.orgId}/stats`);
    expect(stats.body.streamingClients).toBe(1);
    await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'revoke-refresh-tokens' });
    await waitUntil(() => failures.length > 0, 5000, 'AuthFailure');
    expect(failures[0]).toMatchObject({ channel: '/meta/connect', error: '401::Authentication invalid', advice: { reconnect: 'none' } });
    l.client.disconnect();
  });
});
