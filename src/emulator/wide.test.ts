import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from './server.js';
import { connect, newOrg, rawRest, start, type OrgCredentials } from '../../testkit/emulator/support.js';

let em: RunningEmulator;
let org: OrgCredentials;
let conn: ReturnType<typeof connect>;

const plain = Array.from({ length: 680 }, (_, i) => ({ name: `Wide_Plain_Field_${String(i).padStart(4, '0')}__c`, type: 'text' }));
const formulas = Array.from({ length: 120 }, (_, i) => ({
  name: `Wide_Formula_${String(i).padStart(4, '0')}__c`,
  type: 'text',
  formula: `Wide_Plain_Field_${String(i).padStart(4, '0')}__c`,
}));

beforeAll(async () => {
  em = await start();
  org = await newOrg(em.url, { customObjects: [{ name: 'Wide__c', fields: [...plain, ...formulas] }] });
  conn = connect(org);
  await conn.query('SELECT Id FROM User');
});
afterAll(async () => {
  await em.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${conn.instanceUrl}${path}`, { headers: { Authorization: `Bearer ${conn.accessToken}`, ...headers } });
  return { status: res.status, text: await res.text() };
}

describe('wide objects', () => {
  it('answers 414 with the front end page when a GET query selects every field of an 800-field object', async () => {
    const soql = `SELECT ${[...plain, ...formulas].map((f) => f.name).join(', ')} FROM Wide__c`;
    const path = `/services/data/v59.0/queryAll/?q=${encodeURIComponent(soql)}`;
    expect(path.length).toBeGreaterThan(16_384);
    const res = await get(path);
    expect(res.status).toBe(414);
    expect(res.text).toBe('<h1>Bad Message 414</h1><pre>reason: URI Too Long</pre>');
  });

  it('answers 431 when URI and headers together pass 16,384 bytes', async () => {
    const res = await get('/services/data/v59.0/limits', { 'x-padding': 'p'.repeat(16_400) });
    expect(res.status).toBe(431);
    const ok = await get('/services/data/v59.0/limits', { 'x-padding': 'p'.repeat(8_000) });
    expect(ok.status).toBe(200);
  });

  it('refuses a query selecting 120 formula fields with QUERY_TOO_COMPLICATED, also inside a composite', async () => {
    const soql = `SELECT Id, ${formulas.map((f) => f.name).join(', ')} FROM Wide__c`;
    const res = await rawRest(conn, 'GET', `/services/data/v59.0/query/?q=${encodeURIComponent(soql)}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual([
      { errorCode: 'QUERY_TOO_COMPLICATED', message: 'Query is either selecting too many fields or the filter conditions are too complicated.' },
    ]);
    const composite = await rawRest(conn, 'POST', '/services/data/v59.0/composite', {
      compositeRequest: [{ method: 'GET', referenceId: 'q', url: `/services/data/v59.0/query/?q=${encodeURIComponent(soql)}` }],
    });
    expect(composite.body.compositeResponse[0].httpStatusCode).toBe(400);
    expect(composite.body.compositeResponse[0].body[0].errorCode).toBe('QUERY_TOO_COMPLICATED');
  });

  it('computes formula fields when read, refuses writing them, and describes them as read-only', async () => {
    const created = (await conn.sobject('Wide__c').create({ Wide_Plain_Field_0003__c: 'three' })) as { id: string };
    const rows = await conn.query<Record<string, unknown>>(`SELECT Wide_Formula_0003__c, Wide_Formula_0004__c FROM Wide__c WHERE Id = '${created.id}'`);
    expect(rows.records[0]).toMatchObject({ Wide_Formula_0003__c: 'three', Wide_Formula_0004__c: null });
    const describe = await conn.sobject('Wide__c').describe();
    const f = describe.fields.find((x) => x.name === 'Wide_Formula_0003__c')!;
    expect(f).toMatchObject({ calculated: true, calculatedFormula: 'Wide_Plain_Field_0003__c', createable: false, updateable: false });
    await expect(conn.sobject('Wide__c').update({ Id: created.id, Wide_Formula_0003__c: 'x' })).rejects.toThrow(/Wide_Formula_0003__c/);
  });
});
