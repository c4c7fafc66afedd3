import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { admin, connect, expectSfError, fixture, newOrg, rawRest, start, type Any, type OrgCredentials } from '../../testkit/emulator/support.js';
import { normalizeId } from './ids.js';

let em: RunningEmulator;
let org: OrgCredentials;
let conn: ReturnType<typeof connect>;

beforeAll(async () => {
  em = await start();
  org = await newOrg(em.url, {
    customObjects: [
      {
        name: 'Invoice__c',
        fields: [
          { name: 'Amount__c', type: 'currency', required: true },
          { name: 'Account__c', type: 'lookup', referenceTo: 'Account' },
        ],
      },
    ],
  });
  conn = connect(org);
  await conn.query('SELECT Id FROM User'); // establishes the session
});
afterAll(async () => {
  await em.close();
});

/** Shape equality: same keys, same value types, recursively (values may differ). */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? [shapeOf(v[0])] : [];
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, shapeOf((v as Any)[k])]),
    );
  return v === null ? 'null' : typeof v;
}

describe('sObject CRUD', () => {
  it('create / retrieve / update / delete a Lead with jsforce, answers shaped like the recordings', async () => {
    const created: Any = await conn.sobject('Lead').create({ FirstName: 'Ada', LastName: 'Lovelace', Company: 'Analytical Engines', City: 'London' });
    expect(shapeOf(created)).toEqual(shapeOf(fixture('create-success.json')));
    expect(normalizeId(created.id)).toBe(created.id);
    expect(created.id.startsWith('00Q')).toBe(true);

    const rec: Any = await conn.sobject('Lead').retrieve(created.id);
    expect(rec.attributes).toEqual({ type: 'Lead', url: `/services/data/v59.0/sobjects/Lead/${created.id}` });
    expect(rec.Name).toBe('Ada Lovelace');
    expect(rec.Status).toBe('Open - Not Contacted');
    expect(rec.Address).toEqual({
      city: 'London',
      country: null,
      geocodeAccuracy: null,
      latitude: null,
      longitude: null,
      postalCode: null,
      state: null,
      street: null,
    });
    expect(rec.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(rec.SystemModstamp).toBe(rec.LastModifiedDate);
    const describe: Any = await conn.sobject('Lead').describe();
    expect(Object.keys(rec).slice(1)).toEqual(describe.fields.map((f: Any) => f.name));

    await conn.sobject('Lead').update({ Id: created.id, Title: 'Countess' });
    expect(((await conn.sobject('Lead').retrieve(created.id)) as Any).Title).toBe('Countess');
    await conn.sobject('Lead').destroy(created.id);
    const again = await rawRest(conn, 'DELETE', `/services/data/v59.0/sobjects/Lead/${created.id}`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual(fixture('error-ENTITY_IS_DELETED.json'));
  });

  it('an Account record has the recorded field layout, compound BillingAddress included', async () => {
    const { id }: Any = await conn.sobject('Account').create({ Name: 'Edge Communications', BillingCity: 'Austin', BillingState: 'TX' });
    const rec: Any = await conn.sobject('Account').retrieve(id);
    const recorded = fixture('sobject-get-record.json');
    const ours = new Set(Object.keys(rec));
    const standardRecorded = Object.keys(recorded).filter((k) => !k.endsWith('__c') && !/(State|Country)Code$/.test(k));
    expect(standardRecorded.filter((k) => !ours.has(k))).toEqual([]);
    expect(Object.keys(rec.BillingAddress)).toEqual(Object.keys(recorded.BillingAddress).filter((k) => k !== 'stateCode' && k !== 'countryCode'));
    expect(rec.BillingAddress.city).toBe('Austin');
    expect(rec.ShippingAddress).toBeNull();
  });

  it("validation errors are Salesforce's bodies", async () => {
    const missing = await rawRest(conn, 'POST', '/services/data/v59.0/sobjects/Lead', { FirstName: 'x' });
    expect(missing.status).toBe(400);
    expect(shapeOf(missing.body)).toEqual(shapeOf(fixture('error-REQUIRED_FIELD_MISSING.json')));
    expect(missing.body).toEqual([
      { message: 'Required fields are missing: [LastName, Company]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName', 'Company'] },
    ]);

    const custom = await rawRest(conn, 'POST', '/services/data/v59.0/sobjects/Invoice__c', {});
    expect(custom.body).toEqual([{ message: 'Required fields are missing: [Amount__c]', errorCode: 'REQUIRED_FIELD_MISSING', fields: ['Amount__c'] }]);

    const badField = await rawRest(conn, 'POST', '/services/data/v59.0/sobjects/Account', { Name: 'x', FavoritePet__c: 'cat' });
    expect(badField.status).toBe(400);
    expect(badField.body).toEqual(fixture('error-INVALID_FIELD-write.json'));

    const malformed = await rawRest(conn, 'PATCH', '/services/data/v59.0/sobjects/Invoice__c/a00B000000FSjVUIB1', { Amount__c: 1 });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual(fixture('error-MALFORMED_ID.json'));

    const getBad = await rawRest(conn, 'GET', '/services/data/v59.0/sobjects/Lead/23foo');
    expect(getBad.status).toBe(404);
    expect(getBad.body).toEqual(fixture('error-NOT_FOUND-external-id.json'));

    const unknownType = await rawRest(conn, 'POST', '/services/data/v53.0/sobjects/PlayingCard__c', { Name: 'x' });
    expect(unknownType.status).toBe(404);
    expect(unknownType.body).toEqual(fixture('error-NOT_FOUND-unknown-sobject.json'));

    const badVersion = await rawRest(conn, 'POST', '/services/data/viAmABadVersion/sobjects/Account', { Name: 'x' });
    expect(badVersion.status).toBe(404);
    expect(badVersion.body).toEqual(fixture('error-NOT_FOUND-bad-api-version.json'));

    const email = await expectSfError(conn.sobject('Contact').create({ LastName: 'x', Email: 'not-an-email' }));
    expect(email.errorCode).toBe('INVALID_EMAIL_ADDRESS');
    const number = await rawRest(conn, 'POST', '/services/data/v59.0/sobjects/Invoice__c', { Amount__c: 'lots' });
    expect(number.body[0].errorCode).toBe('JSON_PARSER_ERROR');
    expect(number.body[0].message).toMatch(/^Cannot deserialize instance of double from VALUE_STRING value lots/);
    const readOnly = await rawRest(conn, 'POST', '/services/data/v59.0/sobjects/Contact', { LastName: 'x', Name: 'y' });
    expect(readOnly.body[0].errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    const dangling = await expectSfError(conn.sobject('Contact').create({ LastName: 'x', AccountId: '001Rm000000zzzzIAA' }));
    expect(['INVALID_CROSS_REFERENCE_KEY', 'MALFORMED_ID']).toContain(dangling.errorCode);
  });

  it('describeGlobal, describe and the versions list', async () => {
    const global: Any = await conn.describeGlobal();
    const names = global.sobjects.map((s: Any) => s.name);
    for (const n of ['Account', 'Contact', 'Lead', 'Opportunity', 'Campaign', 'CampaignMember', 'Case', 'Task', 'User', 'Invoice__c'])
      expect(names).toContain(n);
    const lead: Any = await conn.sobject('Lead').describe();
    const recorded = fixture('describe-Lead.json');
    expect(Object.keys(lead).sort()).toEqual(Object.keys(recorded).sort());
    expect(lead.fields.map((f: Any) => f.name)).toEqual(recorded.fields.map((f: Any) => f.name));
    expect(Object.keys(lead.fields[0]).sort()).toEqual(Object.keys(recorded.fields[0]).sort());
    expect(lead.urls.describe).toBe('/services/data/v59.0/sobjects/Lead/describe');
    const invoice: Any = await conn.sobject('Invoice__c').describe();
    expect(invoice.custom).toBe(true);
    expect(invoice.keyPrefix).toMatch(/^a0[0-9a-z]$/);
    expect(invoice.fields.find((f: Any) => f.name === 'Amount__c')).toMatchObject({ type: 'currency', custom: true, nillable: false });
    const versions: Any = await fetch(`${org.instanceUrl}/services/data`).then((r) => r.json());
    expect(versions.at(-1)).toEqual({ label: "Spring '26", url: '/services/data/v66.0', version: '66.0' });
  });
});

describe('upsert', () => {
  it('by an idLookup field: created, then updated, several matches answer 300', async () => {
    const created: Any = await conn.sobject('Contact').upsert({ LastName: 'TestUser', Email: 'test_upsert_004@example.com' }, 'Email');
    expect(created).toMatchObject({ success: true, errors: [], created: true });
    expect(Object.keys(created).sort()).toEqual(Object.keys(fixture('upsert-created.json')).sort());
    const updated: Any = await conn.sobject('Contact').upsert({ LastName: 'Renamed', Email: 'test_upsert_004@example.com' }, 'Email');
    expect(updated).toEqual({ id: created.id, success: true, errors: [], created: false });
    expect(((await conn.sobject('Contact').retrieve(created.id)) as Any).LastName).toBe('Renamed');
    await conn.sobject('Contact').create({ LastName: 'Twin', Email: 'test_upsert_004@example.com' });
    const twice = await rawRest(conn, 'PATCH', '/services/data/v59.0/sobjects/Contact/Email/test_upsert_004@example.com', { LastName: 'x' });
    expect(twice.status).toBe(300);
    expect(twice.body).toHaveLength(2);
    const many: Any = await conn.sobject('Contact').upsert(
      [
        { LastName: 'M1', Email: 'm1@example.com' },
        { LastName: 'M2', Email: 'm2@example.com' },
      ],
      'Email',
    );
    expect(many.map((r: Any) => r.created)).toEqual([true, true]);
    const notExternal = await rawRest(conn, 'PATCH', '/services/data/v59.0/sobjects/Contact/Title/x', { LastName: 'x' });
    expect(notExternal.status).toBe(404);
  });
});

describe('query', () => {
  it('pages with nextRecordsUrl (01g locator) and jsforce queryMore', async () => {
    for (let batch = 0; batch < 3; batch++) {
      const records = Array.from({ length: 150 }, (_, i) => ({ attributes: { type: 'Contact' }, LastName: `Pager ${batch * 150 + i}` }));
      const res: Any = await conn.requestPost('/services/data/v59.0/composite/sobjects', { allOrNone: true, records });
      expect(res.every((r: Any) => r.success)).toBe(true);
    }
    const soql = "SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Pager%' ORDER BY LastName";
    const first: Any = await conn.request({
      method: 'GET',
      url: `/services/data/v59.0/query?q=${encodeURIComponent(soql)}`,
      headers: { 'Sforce-Query-Options': 'batchSize=200' },
    });
    expect(first.totalSize).toBe(450);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(200);
    expect(first.nextRecordsUrl).toMatch(/^\/services\/data\/v59\.0\/query\/01g[a-zA-Z0-9]{15}-200$/);
    expect(Object.keys(first)).toEqual(Object.keys(fixture('query-paged-01g-locator-page1.json')));
    const second: Any = await conn.queryMore(first.nextRecordsUrl);
    expect(second.records).toHaveLength(200);
    const third: Any = await conn.queryMore(second.nextRecordsUrl);
    expect(third.done).toBe(true);
    expect(third.records).toHaveLength(50);
    expect(third.nextRecordsUrl).toBeUndefined();
    const all = [...first.records, ...second.records, ...third.records].map((r: Any) => r.LastName);
    expect(new Set(all).size).toBe(450);
    // The default batch is 2000: everything in one page, and jsforce's autoFetch agrees.
    const auto = await conn.query(soql).run({ autoFetch: true, maxFetch: 10_000 });
    expect(auto.records).toHaveLength(450);
  });

  it("queryAll sees the recycle bin; query does not; SOQL errors are Salesforce's", async () => {
    const { id }: Any = await conn.sobject('Lead').create({ LastName: 'Binned', Company: 'X' });
    await conn.sobject('Lead').destroy(id);
    const live = await conn.query(`SELECT Id FROM Lead WHERE Id = '${id}'`);
    expect(live.totalSize).toBe(0);
    const all: Any = await conn.query(`SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true AND Id = '${id}'`, { scanAll: true });
    expect(all.records).toEqual([{ attributes: { type: 'Lead', url: `/services/data/v59.0/sobjects/Lead/${id}` }, Id: id, IsDeleted: true }]);
    const err = await expectSfError(Promise.resolve(conn.query('SELECT Bacon__c FROM Account LIMIT 2')));
    expect(err.errorCode).toBe('INVALID_FIELD');
    const count = await conn.query("SELECT COUNT() FROM Lead WHERE LastName = 'Binned'");
    expect(count.totalSize).toBe(0);
  });
});

describe('getDeleted / getUpdated / undelete', () => {
  it('lists deletions by minute, undelete restores, CampaignMember removal is a hard delete', async () => {
    const start = new Date(Date.now() - 60_000);
    const lead: Any = await conn.sobject('Lead').create({ LastName: 'Gone', Company: 'X' });
    const campaign: Any = await conn.sobject('Campaign').create({ Name: 'Spring' });
    const member: Any = await conn.sobject('CampaignMember').create({ CampaignId: campaign.id, LeadId: lead.id });
    const dup = await expectSfError(conn.sobject('CampaignMember').create({ CampaignId: campaign.id, LeadId: lead.id }));
    expect(dup.errorCode).toBe('DUPLICATE_VALUE');
    await conn.sobject('CampaignMember').destroy(member.id);
    await conn.sobject('Lead').destroy(lead.id);
    // Salesforce covers whole minutes only: move past the current one.
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 61_000 });
    const end = new Date(Date.now() + 120_000);
    const deleted: Any = await conn.sobject('Lead').deleted(start, end);
    expect(shapeOf(deleted)).toEqual(shapeOf(fixture('getDeleted.json')));
    expect(deleted.deletedRecords.map((d: Any) => d.id)).toContain(lead.id);
    const members: Any = await conn.sobject('CampaignMember').deleted(start, end);
    expect(members.deletedRecords.map((d: Any) => d.id)).toEqual([member.id]);
    const memberAll = await conn.query(`SELECT Id FROM CampaignMember WHERE Id = '${member.id}'`, { scanAll: true });
    expect(memberAll.totalSize).toBe(0);

    const undeleted = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/undelete`, { ids: [lead.id, member.id] });
    expect(undeleted.body[0]).toEqual({ id: lead.id, success: true, errors: [] });
    expect(undeleted.body[1].success).toBe(false);
    expect(((await conn.sobject('Lead').retrieve(lead.id)) as Any).IsDeleted).toBe(false);
    const after: Any = await conn.sobject('Lead').deleted(start, new Date(Date.now() + 120_000));
    expect(after.deletedRecords.map((d: Any) => d.id)).not.toContain(lead.id);

    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 61_000 });
    const updated: Any = await conn.sobject('Lead').updated(start, new Date(Date.now() + 180_000));
    expect(shapeOf({ ...updated, ids: updated.ids.slice(0, 1) })).toEqual(shapeOf(fixture('getUpdated.json')));
    expect(updated.ids).toContain(lead.id);
  });

  it('purge-delete-log: earliestDateAvailable moves to now, earlier deletions leave the log and queryAll', async () => {
    const { body: clock } = await admin(em.url, 'GET', '/__emulator/clock');
    const start = new Date(Date.parse(clock.now) - 60_000);
    const lead: Any = await conn.sobject('Lead').create({ LastName: 'Purged', Company: 'X' });
    await conn.sobject('Lead').destroy(lead.id);
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 61_000 });
    const end = () => new Date(Date.parse(clock.now) + 600_000);
    const before: Any = await conn.sobject('Lead').deleted(start, end());
    expect(before.deletedRecords.map((d: Any) => d.id)).toContain(lead.id);
    expect(Date.parse(before.earliestDateAvailable)).toBeLessThan(start.getTime());

    const purged = await admin(em.url, 'POST', `/__emulator/orgs/${org.orgId}/faults`, { kind: 'purge-delete-log' });
    expect(purged.status).toBe(200);
    const after: Any = await conn.sobject('Lead').deleted(start, end());
    expect(after.deletedRecords.map((d: Any) => d.id)).not.toContain(lead.id);
    expect(after.earliestDateAvailable).toBe(purged.body.earliestDateAvailable);
    expect(Date.parse(after.earliestDateAvailable)).toBeGreaterThan(start.getTime());
    const all = await conn.query(`SELECT Id FROM Lead WHERE Id = '${lead.id}'`, { scanAll: true });
    expect(all.totalSize).toBe(0);
    // Deletions after the purge are logged again.
    const later: Any = await conn.sobject('Lead').create({ LastName: 'Later', Company: 'X' });
    await conn.sobject('Lead').destroy(later.id);
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 61_000 });
    const next: Any = await conn.sobject('Lead').deleted(start, end());
    expect(next.deletedRecords.map((d: Any) => d.id)).toEqual([later.id]);
  });
});

describe('limits', () => {
  it('counts every call, reports it in Sforce-Limit-Info and limits, and answers REQUEST_LIMIT_EXCEEDED past the limit', async () => {
    const small = await newOrg(em.url, { apiDailyLimit: 5 });
    const c = connect(small);
    await c.query('SELECT Id FROM Lead');
    expect(c.limitInfo.apiUsage).toEqual({ used: 1, limit: 5 });
    const limits: Any = await c.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 5, Remaining: 3 });
    expect(Object.keys(limits).sort()).toEqual(Object.keys(fixture('../metadata/limits.json')).sort());
    await c.query('SELECT Id FROM Lead');
    await c.query('SELECT Id FROM Lead');
    await c.query('SELECT Id FROM Lead');
    const over = await rawRest(c, 'GET', '/services/data/v59.0/limits');
    expect(over.status).toBe(403);
    expect(over.body).toEqual(fixture('error-REQUEST_LIMIT_EXCEEDED.json'));
    expect(over.headers.get('sforce-limit-info')).toBe('api-usage=5/5');
    // A rolling 24 h window: a day later the calls have aged out.
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 24 * 3600 * 1000 + 60_000 });
    const later = await rawRest(c, 'GET', '/services/data/v59.0/limits');
    expect(later.status).toBe(401); // the session expired meanwhile, as it would
    await c.query('SELECT Id FROM Lead'); // jsforce refreshes
    expect(c.limitInfo.apiUsage!.used).toBe(1);
    const stats = await admin(em.url, 'GET', `/__emulator/orgs/${small.orgId}/stats`);
    expect(stats.body.apiCalls).toBe(1);
  });

  it('fail-requests and slow-requests faults', async () => {
    const o = await newOrg(em.url);
    const c = connect(o);
    await c.query('SELECT Id FROM Lead');
    await admin(em.url, 'POST', `/__emulator/orgs/${o.orgId}/faults`, { kind: 'fail-requests', status: 503, count: 2 });
    expect((await rawRest(c, 'GET', '/services/data/v59.0/limits')).status).toBe(503);
    const second = await rawRest(c, 'GET', '/services/data/v59.0/limits');
    expect(second.body[0].errorCode).toBe('SERVER_UNAVAILABLE');
    expect((await rawRest(c, 'GET', '/services/data/v59.0/limits')).status).toBe(200);
    await admin(em.url, 'POST', `/__emulator/orgs/${o.orgId}/faults`, { kind: 'slow-requests', ms: 300, count: 1 });
    const t0 = Date.now();
    await c.query('SELECT Id FROM Lead');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });
});

describe('composite and collections', () => {
  it('composite with references, Location headers and the recorded response shape', async () => {
    const res: Any = await conn.requestPost('/services/data/v59.0/composite', {
      compositeRequest: [
        { method: 'POST', url: '/services/data/v59.0/sobjects/Account', referenceId: 'refAccount', body: { Name: 'Sample Account' } },
        {
          method: 'POST',
          url: '/services/data/v59.0/sobjects/Contact',
          referenceId: 'refContact',
          body: { LastName: 'Sample Contact', AccountId: '@{refAccount.id}' },
        },
        { method: 'GET', url: '/services/data/v59.0/query?q=SELECT+Id+FROM+Account+LIMIT+1', referenceId: 'q' },
        { method: 'GET', url: '/services/data/v59.0/sobjects/Foo', referenceId: 'missing' },
      ],
    });
    const [acc, con, q, missing] = res.compositeResponse;
    expect(acc.httpStatusCode).toBe(201);
    expect(acc.httpHeaders.Location).toBe(`/services/data/v59.0/sobjects/Account/${acc.body.id}`);
    expect(((await conn.sobject('Contact').retrieve(con.body.id)) as Any).AccountId).toBe(acc.body.id);
    expect(shapeOf(q)).toEqual(shapeOf(fixture('composite-response.json').compositeResponse[0]));
    expect(missing).toEqual({ ...fixture('composite-response-404.json').compositeResponse[0], referenceId: 'missing' });
  });

  it('allOrNone rolls the whole composite back', async () => {
    const res: Any = await conn.requestPost('/services/data/v59.0/composite', {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: '/services/data/v59.0/sobjects/Account', referenceId: 'a', body: { Name: 'Rolled Back' } },
        { method: 'POST', url: '/services/data/v59.0/sobjects/Lead', referenceId: 'b', body: { LastName: 'no company' } },
      ],
    });
    expect(res.compositeResponse[0].httpStatusCode).toBe(400);
    expect(res.compositeResponse[0].body[0].errorCode).toBe('PROCESSING_HALTED');
    expect(res.compositeResponse[1].body[0].errorCode).toBe('REQUIRED_FIELD_MISSING');
    expect((await conn.query("SELECT Id FROM Account WHERE Name = 'Rolled Back'")).totalSize).toBe(0);
  });

  it('collections create, update (partial failure) and delete', async () => {
    const created: Any = await conn.requestPost('/services/data/v59.0/composite/sobjects', {
      allOrNone: false,
      records: [
        { attributes: { type: 'Account' }, Name: 'C1' },
        { attributes: { type: 'Account' }, Name: 'C2' },
      ],
    });
    expect(shapeOf(created)).toEqual(shapeOf(fixture('sobject-collections-create.json')));
    const updated: Any = await conn.requestPatch('/services/data/v59.0/composite/sobjects', {
      allOrNone: false,
      records: [
        { attributes: { type: 'Account' }, id: created[0].id, Name: 'C1b' },
        { attributes: { type: 'Account' }, id: '001xx000003DHP0AAO', Name: 'Updated Account Name' },
      ],
    });
    expect(updated[0]).toEqual({ id: created[0].id, success: true, errors: [] });
    expect([updated[1]]).toEqual(fixture('sobject-collections-update-partial-failure.json').map((r: Any) => ({ id: '001xx000003DHP0AAO', ...r })));
    const deleted: Any = await conn.requestDelete(`/services/data/v59.0/composite/sobjects?ids=${created[0].id},${created[1].id}&allOrNone=false`);
    expect(shapeOf(deleted)).toEqual(shapeOf(fixture('sobject-collections-delete.json')));
    const many: Any = await conn.sobject('Account').retrieve([created[0].id]);
    expect(many).toEqual([null]);
  });

  it('tooling query lists the CDC selection as PlatformEventChannelMember rows', async () => {
    const o = await newOrg(em.url, { cdcEntities: ['Account', 'LeadChangeEvent'] });
    const c = connect(o);
    const res: Any = await c.tooling.query(
      "SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents' ORDER BY SelectedEntity",
    );
    expect(res.records.map((r: Any) => [r.DeveloperName, r.EventChannel, r.SelectedEntity])).toEqual([
      ['ChangeEvents_AccountChangeEvent', 'ChangeEvents', 'AccountChangeEvent'],
      ['ChangeEvents_LeadChangeEvent', 'ChangeEvents', 'LeadChangeEvent'],
    ]);
    expect(res.records[0].attributes.url).toContain('/tooling/sobjects/PlatformEventChannelMember/');
    await admin(em.url, 'PUT', `/__emulator/orgs/${o.orgId}/cdc-entities`, { entities: [] });
    const empty: Any = await c.request(`/services/data/v59.0/tooling/query?q=${encodeURIComponent('SELECT Id FROM PlatformEventChannelMember')}`);
    expect(empty).toEqual(fixture('tooling-query-empty.json'));
  });
});
