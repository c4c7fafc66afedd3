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

async function setup(body: Record<string, unknown> = {}): Promise<{ org: OrgCredentials; conn: jsforce.Connection; events: Any[] }> {
  const org = await newOrg(em.url, body);
  const conn = connect(org);
  await conn.query('SELECT Id FROM User');
  const events: Any[] = [];
  const client = conn.streaming.createClient([new StreamingExtension.Replay('/data/ChangeEvents', -1)]);
  await client.subscribe('/data/ChangeEvents', (m: Any) => events.push(m));
  return { org, conn, events };
}

const headers = (events: Any[]) => events.map((e) => e.payload.ChangeEventHeader);

describe('gap events from a change larger than 1 MB', () => {
  it('a long text area write past 1 MB arrives as GAP_UPDATE with the header only; a small one as UPDATE', async () => {
    const { conn, events } = await setup({
      customObjects: [
        {
          name: 'Doc__c',
          fields: ['A__c', 'B__c', 'C__c'].map((name) => ({ name, type: 'LongTextArea', length: 131_072 })),
        },
      ],
    });
    const created: Any = await conn.sobject('Doc__c').create({ A__c: 'small' });
    // Three-byte characters: three fields of 131,072 of them are 1.18 MB of UTF-8.
    const big = '€'.repeat(131_072);
    await conn.sobject('Doc__c').update({ Id: created.id, A__c: big, B__c: big, C__c: big });
    await conn.sobject('Doc__c').update({ Id: created.id, A__c: 'small again' });
    await waitUntil(() => events.length >= 3, 5000, 'three events');
    const [, gap, after] = events;
    expect(gap.payload.ChangeEventHeader).toMatchObject({ entityName: 'Doc__c', recordIds: [created.id], changeType: 'GAP_UPDATE', changedFields: [] });
    expect(Object.keys(gap.payload)).toEqual(['ChangeEventHeader']);
    expect(gap.payload.ChangeEventHeader.transactionKey).toEqual(expect.any(String));
    expect(after.payload.ChangeEventHeader.changeType).toBe('UPDATE');
    expect(after.payload.A__c).toBe('small again');
  });

  it('a record created past 1 MB arrives as GAP_CREATE', async () => {
    const { conn, events } = await setup({
      customObjects: [{ name: 'Doc__c', fields: ['A__c', 'B__c', 'C__c'].map((name) => ({ name, type: 'LongTextArea', length: 131_072 })) }],
    });
    const big = '€'.repeat(131_072);
    const created: Any = await conn.sobject('Doc__c').create({ A__c: big, B__c: big, C__c: big });
    await waitUntil(() => events.length >= 1, 5000, 'one event');
    expect(headers(events)).toMatchObject([{ changeType: 'GAP_CREATE', recordIds: [created.id] }]);
  });
});

describe('overflow events from a transaction past overflowThreshold', () => {
  it('a cascade delete: the first changes as events, then one GAP_OVERFLOW per entity; undelete restores the children', async () => {
    const { org, conn, events } = await setup({ overflowThreshold: 5 });
    const account: Any = await conn.sobject('Account').create({ Name: 'Parent' });
    const contacts: Any[] = [];
    for (const batch of [0, 3]) {
      const rows = Array.from({ length: 3 }, (_, i) => ({ LastName: `C${batch + i}`, AccountId: account.id }));
      contacts.push(...((await conn.sobject('Contact').create(rows, { allOrNone: true })) as Any[]));
    }
    const opp: Any = await conn.sobject('Opportunity').create({ Name: 'O', StageName: 'Prospecting', CloseDate: '2030-01-01', AccountId: account.id });
    const other: Any = await conn.sobject('Contact').create({ LastName: 'Elsewhere' });
    await waitUntil(() => events.length >= 9, 5000, 'the setup events');
    expect(headers(events).every((h) => h.changeType === 'CREATE')).toBe(true);
    events.length = 0;

    await conn.sobject('Account').destroy(account.id);
    await waitUntil(() => events.length >= 3, 5000, 'the delete events');
    await new Promise((r) => setImmediate(r));
    const hs = headers(events);
    // Account, then four Contacts (five changes), then the rest: two Contacts and the Opportunity.
    expect(hs.map((h) => [h.entityName, h.changeType])).toEqual([
      ['Account', 'DELETE'],
      ['Contact', 'DELETE'],
      ['Contact', 'GAP_OVERFLOW'],
      ['Opportunity', 'GAP_OVERFLOW'],
    ]);
    expect(hs[1].recordIds).toHaveLength(4);
    expect(hs[2]).toMatchObject({ recordIds: ['000000000000000AAA'], changedFields: [], transactionKey: hs[0].transactionKey, sequenceNumber: 3 });
    expect(Object.keys(events[2].payload)).toEqual(['ChangeEventHeader']);

    const alive = await conn.query<Any>(`SELECT Id FROM Contact WHERE AccountId = '${account.id}'`);
    expect(alive.totalSize).toBe(0);
    const queryAll = (soql: string) => conn.request<Any>(`/services/data/v59.0/queryAll?q=${encodeURIComponent(soql)}`);
    const deleted = await queryAll(`SELECT Id, IsDeleted FROM Contact WHERE AccountId = '${account.id}'`);
    expect(deleted.records.map((r: Any) => r.IsDeleted)).toEqual(contacts.map(() => true));
    expect((await conn.sobject('Contact').retrieve(other.id)) as Any).toMatchObject({ IsDeleted: false });
    expect(await queryAll(`SELECT IsDeleted FROM Opportunity WHERE Id = '${opp.id}'`)).toMatchObject({ records: [{ IsDeleted: true }] });

    const undone = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/undelete`, { ids: [account.id] });
    expect(undone.status).toBe(200);
    expect((await conn.query<Any>(`SELECT Id FROM Contact WHERE AccountId = '${account.id}'`)).totalSize).toBe(6);
    expect((await conn.query<Any>(`SELECT Id FROM Opportunity WHERE AccountId = '${account.id}'`)).totalSize).toBe(1);
  });

  it('an update counts each changed field toward the threshold', async () => {
    const { conn, events } = await setup({ overflowThreshold: 2 });
    const a: Any = await conn.sobject('Account').create({ Name: 'A' });
    await conn.sobject('Account').update({ Id: a.id, Phone: '1' });
    // Three field changes of one record: past two.
    await conn.sobject('Account').update({ Id: a.id, Phone: '2', Industry: 'Apparel', Website: 'a.example.com' });
    await waitUntil(() => events.length >= 3, 5000, 'three events');
    expect(headers(events).map((h) => h.changeType)).toEqual(['CREATE', 'UPDATE', 'GAP_OVERFLOW']);
  });

  it('commit observers still see, as change events, the changes an overflow stands for', async () => {
    const { org, conn } = await setup({ overflowThreshold: 3 });
    const seen: Any[] = [];
    em.emulator.org(org.orgId)!.commitObservers.add((changes) => seen.push(...changes.map((c) => c.payload['ChangeEventHeader'])));
    const account: Any = await conn.sobject('Account').create({ Name: 'Parent' });
    const rows = Array.from({ length: 3 }, (_, i) => ({ LastName: `C${i}`, AccountId: account.id }));
    const contacts = (await conn.sobject('Contact').create(rows, { allOrNone: true })) as Any[];
    const other: Any = await conn.sobject('Contact').create({ LastName: 'Other', AccountId: account.id });
    seen.length = 0;
    await conn.sobject('Account').destroy(account.id);
    const deleted = seen.filter((h) => h.entityName === 'Contact' && h.changeType === 'DELETE').flatMap((h) => h.recordIds);
    expect(deleted.sort()).toEqual([...contacts.map((c) => c.id), other.id].sort());
    expect(seen.filter((h) => h.changeType === 'GAP_OVERFLOW').map((h) => h.entityName)).toEqual(['Contact']);
  });

  it('refuses an overflowThreshold that is not a positive integer', async () => {
    const res = await admin(em.url, 'POST', '/__emulator/orgs', { overflowThreshold: 0 });
    expect(res.status).toBe(400);
  });
});
