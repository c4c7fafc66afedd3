import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SoqlError, executeSoql, parseSoql } from './index.js';
import { id, memorySource, type Rows } from './test-support.js';

const FIXTURES = '/work/shared/reference/salesforce-fixtures';
const fixture = (name: string): unknown => JSON.parse(readFileSync(`${FIXTURES}/${name}`, 'utf8'));

const U1 = id('005', 1);
const Q1 = id('00G', 1);
const A1 = id('001', 1);
const A2 = id('001', 2);
const A3 = id('001', 3);
const A4 = id('001', 4);

function data(): Rows {
  return {
    User: [{ Id: U1, Name: 'Guy Smiley', IsDeleted: false }],
    Group: [{ Id: Q1, Name: 'Support Queue' }],
    Account: [
      {
        Id: A1, Name: 'Acme', Industry: 'Apparel', NumberOfEmployees: 100, AnnualRevenue: 5.5, OwnerId: U1,
        IsDeleted: false, CreatedDate: '2024-01-01T00:00:00.000+0000', LastModifiedDate: '2024-01-01T00:00:00.000+0000',
        SystemModstamp: '2024-01-01T00:00:00.000+0000', Tags__c: 'red;blue', Active__c: true, SLAExpirationDate__c: '2024-03-15',
        ParentId: null, Description: 'line1\nline2',
      },
      {
        Id: A2, Name: 'Global Media', Industry: null, NumberOfEmployees: 5, AnnualRevenue: null, OwnerId: U1,
        IsDeleted: false, CreatedDate: '2024-01-01T00:00:00.000+0000', LastModifiedDate: '2024-01-02T00:00:00.000+0000',
        SystemModstamp: '2024-01-01T00:00:00.000+0000', Tags__c: 'green', Active__c: false, SLAExpirationDate__c: '2024-03-10',
        ParentId: A1, Description: null,
      },
      {
        Id: A3, Name: 'salesforce.com', Industry: 'Technology', NumberOfEmployees: null, AnnualRevenue: 100, OwnerId: U1,
        IsDeleted: false, CreatedDate: '2024-03-15T08:00:00.000+0000', LastModifiedDate: '2024-03-15T08:00:00.000+0000',
        SystemModstamp: '2024-03-15T08:00:00.000+0000', Tags__c: null, Active__c: true, SLAExpirationDate__c: null,
        ParentId: null, Description: null,
      },
      {
        Id: A4, Name: 'Deleted Co', Industry: 'Apparel', NumberOfEmployees: 1, AnnualRevenue: 1, OwnerId: U1,
        IsDeleted: true, CreatedDate: '2023-12-01T00:00:00.000+0000', LastModifiedDate: '2024-02-01T00:00:00.000+0000',
        SystemModstamp: '2024-02-01T00:00:00.000+0000', Tags__c: null, Active__c: false, SLAExpirationDate__c: null,
        ParentId: null, Description: null,
      },
    ],
    Contact: [
      { Id: id('003', 1), FirstName: 'Edna', LastName: 'Frank', AccountId: A1, IsDeleted: false, OwnerId: U1 },
      { Id: id('003', 2), FirstName: 'Tom', LastName: 'Ripley', AccountId: A2, IsDeleted: false, OwnerId: U1 },
      { Id: id('003', 3), FirstName: 'Liz', LastName: "D'Cruz", AccountId: A2, IsDeleted: false, OwnerId: U1 },
      { Id: id('003', 4), FirstName: null, LastName: 'Orphan', AccountId: null, IsDeleted: false, OwnerId: U1 },
    ],
    Case: [
      { Id: id('500', 1), Subject: 'Broken', AccountId: A1, OwnerId: Q1, IsDeleted: false },
      { Id: id('500', 2), Subject: 'Fixed', AccountId: null, OwnerId: U1, IsDeleted: false },
    ],
  };
}

function run(soql: string, opts: { includeDeleted?: boolean; rows?: Rows; now?: Date } = {}) {
  const source = memorySource(opts.rows ?? data(), opts.now);
  return executeSoql(parseSoql(soql, source), source, { apiVersion: '59.0', includeDeleted: opts.includeDeleted ?? false });
}
const ids = (soql: string, opts: Parameters<typeof run>[1] = {}) => run(soql, opts).records.map((r) => r['Id']);
const names = (soql: string, opts: Parameters<typeof run>[1] = {}) => run(soql, opts).records.map((r) => r['Name']);

function soqlError(soql: string): SoqlError {
  try {
    parseSoql(soql, memorySource(data()));
  } catch (e) {
    if (e instanceof SoqlError) return e;
    throw e;
  }
  throw new Error(`no error for ${soql}`);
}
const asBody = (e: SoqlError) => [{ message: e.message, errorCode: e.errorCode }];

describe('errors, compared with recorded Salesforce responses', () => {
  it('MALFORMED_QUERY on a wrong first token has no caret block', () => {
    expect(asBody(soqlError('SELEKT Name FROM Account'))).toEqual(fixture('error-MALFORMED_QUERY.json'));
  });

  it('MALFORMED_QUERY caret block shows a window about 35 characters back, Column counts the full query', () => {
    // The recorded query is not known; this one puts 'From' at the fixture's Column:78.
    const q = 'SELECT Id, Name, Industry, AnnualRevenu, LastModifiedById, LastModifiedDate, From Account ';
    expect(q.indexOf('From') + 1).toBe(78);
    expect(asBody(soqlError(q))).toEqual(fixture('error-MALFORMED_QUERY-caret.json'));
  });

  it('INVALID_FIELD for an unknown column', () => {
    expect(asBody(soqlError('SELECT Bacon__c FROM Account LIMIT 2'))).toEqual(fixture('error-INVALID_FIELD-query.json'));
  });

  it('INVALID_TYPE for an unknown object, before any field is checked', () => {
    expect(asBody(soqlError('SELECT Xyzzy FROM Xyzzy'))).toEqual(fixture('error-INVALID_TYPE.json'));
    const composite = fixture('composite-response-subrequest-error.json') as { compositeResponse: { body: unknown }[] };
    expect(asBody(soqlError('select count() from XYZZY'))).toEqual(composite.compositeResponse[1]!.body);
  });

  it('unexpected <EOF>', () => {
    expect(soqlError('SELECT Id FROM Account WHERE').message).toBe(
      '\nSELECT Id FROM Account WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: <EOF>',
    );
  });
});

describe('select and where', () => {
  it('returns canonical names in SELECT order with attributes first', () => {
    const r = run('select name, ID from account where id = \'' + A1 + "'");
    expect(r.totalSize).toBe(1);
    expect(JSON.stringify(r.records[0])).toBe(
      JSON.stringify({ attributes: { type: 'Account', url: `/services/data/v59.0/sobjects/Account/${A1}` }, Name: 'Acme', Id: A1 }),
    );
  });

  it('the polling query pages by (SystemModstamp, Id)', () => {
    const q = (since: string, lastId: string) =>
      `SELECT Id, CreatedDate, SystemModstamp, Name FROM Account WHERE SystemModstamp > ${since} OR (SystemModstamp = ${since} AND Id > '${lastId}') ORDER BY SystemModstamp ASC, Id ASC LIMIT 200`;
    expect(ids(q('2023-12-31T00:00:00.000Z', id('001', 0)))).toEqual([A1, A2, A3]);
    expect(ids(q('2024-01-01T00:00:00.000Z', A1))).toEqual([A2, A3]);
    expect(ids(q('2024-01-01T00:00:00.000Z', A2))).toEqual([A3]);
    expect(ids(q('2024-03-15T08:00:00.000Z', A3))).toEqual([]);
    const first = run(q('2023-12-31T00:00:00.000Z', id('001', 0))).records[0]!;
    expect(Object.keys(first)).toEqual(['attributes', 'Id', 'CreatedDate', 'SystemModstamp', 'Name']);
    expect(first['SystemModstamp']).toBe('2024-01-01T00:00:00.000+0000');
  });

  it('queryAll sees deleted rows, query does not', () => {
    expect(ids('SELECT Id FROM Account WHERE IsDeleted = true')).toEqual([]);
    expect(ids('SELECT Id FROM Account WHERE IsDeleted = TRUE', { includeDeleted: true })).toEqual([A4]);
    expect(ids('SELECT Id FROM Account', { includeDeleted: true })).toHaveLength(4);
  });

  it('COUNT()', () => {
    expect(run('SELECT COUNT() FROM Account')).toEqual({ totalSize: 3, records: [] });
    expect(run('select count() from Account where Industry = null')).toEqual({ totalSize: 1, records: [] });
  });
});
