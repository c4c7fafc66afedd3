import { describe, expect, it } from 'vitest';
import type { ObjectFields } from './fields.js';
import type { OrgSession } from './session.js';
import { completeRows } from './wide-read.js';

const A = '001000000000001AAA';
const B = '001000000000002AAA';
const T1 = '2024-01-01T00:00:01.000+0000';
const T2 = '2024-01-01T00:00:02.000+0000';

/** An org answering every composite with the rows of the second chunk, as Salesforce shapes them. */
function orgAnswering(rows: Record<string, unknown>[]): { session: OrgSession; urls: string[] } {
  const urls: string[] = [];
  const conn = {
    async request(req: { body: string }) {
      const body = JSON.parse(req.body) as { compositeRequest: Array<{ referenceId: string; url: string }> };
      urls.push(...body.compositeRequest.map((r) => r.url));
      return {
        compositeResponse: body.compositeRequest.map((r) => ({
          referenceId: r.referenceId,
          httpStatusCode: 200,
          body: { totalSize: rows.length, done: true, records: rows.map((x) => ({ attributes: { type: 'Wide__c' }, ...x })) },
        })),
      };
    },
  };
  return { session: { apiVersion: '62.0', orgId: 'o', jsforce: () => conn } as unknown as OrgSession, urls };
}

const fields: ObjectFields = {
  object: 'Wide__c',
  fields: ['Id', 'SystemModstamp', 'F1__c', 'F2__c'],
  replicateable: true,
  unselected: [],
  calculated: [],
  chunks: [
    ['Id', 'SystemModstamp', 'F1__c'],
    ['Id', 'SystemModstamp', 'F2__c'],
  ],
};

describe('completeRows', () => {
  it('joins the later chunks by Id, and leaves out a record that changed between the reads', async () => {
    const { session, urls } = orgAnswering([
      { Id: A, SystemModstamp: T1, F2__c: 'a2' },
      { Id: B, SystemModstamp: T2, F2__c: 'b2 (newer)' },
    ]);
    const out = await completeRows(session, fields, [
      { Id: A, SystemModstamp: T1, F1__c: 'a1' },
      { Id: B, SystemModstamp: T1, F1__c: 'b1' },
    ]);
    expect(out).toEqual([{ Id: A, SystemModstamp: T1, F1__c: 'a1', F2__c: 'a2' }, undefined]);
    expect(urls).toHaveLength(1);
    expect(decodeURIComponent(urls[0]!)).toContain(`SELECT Id, SystemModstamp, F2__c FROM Wide__c WHERE Id IN ('${A}', '${B}')`);
  });

  it('asks nothing for a narrow object', async () => {
    const { session, urls } = orgAnswering([]);
    const rows = [{ Id: A, SystemModstamp: T1 }];
    expect(await completeRows(session, { ...fields, chunks: [fields.fields] }, rows)).toBe(rows);
    expect(urls).toEqual([]);
  });
});
