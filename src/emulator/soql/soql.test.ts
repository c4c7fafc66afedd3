import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SoqlError, executeSoql, parseSoql } from './index.js';
import { id, memorySource, type Rows } from '../../../testkit/emulator/soql.js';

// Copies of the recorded responses in shared/reference/salesforce-fixtures (see ../fixtures/README.md).
const FIXTURES = new URL('../fixtures', import.meta.url).pathname;
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
        Id: A1,
        Name: 'Acme',
        Industry: 'Apparel',
        NumberOfEmployees: 100,
        AnnualRevenue: 5.5,
        OwnerId: U1,
        IsDeleted: false,
        CreatedDate: '2024-01-01T00:00:00.000+0000',
        LastModifiedDate: '2024-01-01T00:00:00.000+0000',
        SystemModstamp: '2024-01-01T00:00:00.000+0000',
        Tags__c: 'red;blue',
        Active__c: true,
        SLAExpirationDate__c: '2024-03-15',
        ParentId: null,
        Description: 'line1\nline2',
      },
      {
        Id: A2,
        Name: 'Global Media',
        Industry: null,
        NumberOfEmployees: 5,
        AnnualRevenue: null,
        OwnerId: U1,
        IsDeleted: false,
        CreatedDate: '2024-01-01T00:00:00.000+0000',
        LastModifiedDate: '2024-01-02T00:00:00.000+0000',
        SystemModstamp: '2024-01-01T00:00:00.000+0000',
        Tags__c: 'green',
        Active__c: false,
        SLAExpirationDate__c: '2024-03-10',
        ParentId: A1,
        Description: null,
      },
      {
        Id: A3,
        Name: 'salesforce.com',
        Industry: 'Technology',
        NumberOfEmployees: null,
        AnnualRevenue: 100,
        OwnerId: U1,
        IsDeleted: false,
        CreatedDate: '2024-03-15T08:00:00.000+0000',
        LastModifiedDate: '2024-03-15T08:00:00.000+0000',
        SystemModstamp: '2024-03-15T08:00:00.000+0000',
        Tags__c: null,
        Active__c: true,
        SLAExpirationDate__c: null,
        ParentId: null,
        Description: null,
      },
      {
        Id: A4,
        Name: 'Deleted Co',
        Industry: 'Apparel',
        NumberOfEmployees: 1,
        AnnualRevenue: 1,
        OwnerId: U1,
        IsDeleted: true,
        CreatedDate: '2023-12-01T00:00:00.000+0000',
        LastModifiedDate: '2024-02-01T00:00:00.000+0000',
        SystemModstamp: '2024-02-01T00:00:00.000+0000',
        Tags__c: null,
        Active__c: false,
        SLAExpirationDate__c: null,
        ParentId: null,
        Description: null,
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
    const r = run("select name, ID from account where id = '" + A1 + "'");
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

describe('operators', () => {
  it('= on strings is case-insensitive; != and <> include nulls', () => {
    expect(ids("SELECT Id FROM Account WHERE Name = 'ACME'")).toEqual([A1]);
    expect(ids("SELECT Id FROM Account WHERE Industry != 'Apparel'")).toEqual([A2, A3]);
    expect(ids("SELECT Id FROM Account WHERE Industry <> 'apparel'")).toEqual([A2, A3]);
    expect(ids('SELECT Id FROM Account WHERE Industry = null')).toEqual([A2]);
    expect(ids('SELECT Id FROM Account WHERE Industry != null')).toEqual([A1, A3]);
  });

  it('numbers, including negative and decimal literals', () => {
    expect(ids('SELECT Id FROM Account WHERE NumberOfEmployees > 5')).toEqual([A1]);
    expect(ids('SELECT Id FROM Account WHERE NumberOfEmployees >= 5')).toEqual([A1, A2]);
    expect(ids('SELECT Id FROM Account WHERE NumberOfEmployees < 100')).toEqual([A2]);
    expect(ids('SELECT Id FROM Account WHERE NumberOfEmployees <= 100')).toEqual([A1, A2]);
    expect(ids('SELECT Id FROM Account WHERE AnnualRevenue > -1.5 AND AnnualRevenue < 5.6')).toEqual([A1]);
  });

  it('booleans', () => {
    expect(ids('SELECT Id FROM Account WHERE Active__c = true')).toEqual([A1, A3]);
    expect(ids('SELECT Id FROM Account WHERE Active__c = FALSE')).toEqual([A2]);
  });

  it('IN and NOT IN', () => {
    expect(ids("SELECT Id FROM Account WHERE Name IN ('acme', 'Global Media')")).toEqual([A1, A2]);
    expect(ids("SELECT Id FROM Account WHERE Name NOT IN ('acme')")).toEqual([A2, A3]);
    expect(ids(`SELECT Id FROM Account WHERE Id IN ('${A3}', '${A1.slice(0, 15)}')`)).toEqual([A1, A3]);
    expect(ids("SELECT Id FROM Account WHERE Industry IN ('Apparel', null)")).toEqual([A1, A2]);
  });

  it('LIKE with % and _, case-insensitive, escaped wildcards literal', () => {
    expect(ids("SELECT Id FROM Account WHERE Name LIKE 'a%'")).toEqual([A1]);
    expect(ids("SELECT Id FROM Account WHERE Name LIKE '%MEDIA'")).toEqual([A2]);
    expect(ids("SELECT Id FROM Account WHERE Name LIKE 'ac_e'")).toEqual([A1]);
    expect(ids("SELECT Id FROM Account WHERE Name LIKE '%.com'")).toEqual([A3]);
    expect(ids("SELECT Id FROM Account WHERE Name LIKE '%\\%%'")).toEqual([]);
  });

  it('AND, OR, NOT and parentheses; mixing AND and OR needs parentheses', () => {
    expect(ids("SELECT Id FROM Account WHERE (Name = 'Acme' OR Name = 'Global Media') AND Active__c = true")).toEqual([A1]);
    expect(ids("SELECT Id FROM Account WHERE NOT Name = 'Acme'")).toEqual([A2, A3]);
    expect(ids("SELECT Id FROM Account WHERE NOT (Name = 'Acme' OR Name = 'Global Media')")).toEqual([A3]);
    expect(ids("SELECT Id FROM Account WHERE Name = 'Acme' OR Name = 'x' OR Name = 'salesforce.com'")).toEqual([A1, A3]);
    const e = soqlError("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'");
    expect(e.errorCode).toBe('MALFORMED_QUERY');
    expect(e.message).toMatch(/unexpected token: 'OR'$/);
  });

  it('string escapes', () => {
    const rows = data();
    rows['Contact']![0]!['LastName'] = 'a\\b\nc';
    expect(run("SELECT Id FROM Contact WHERE LastName = 'D\\'Cruz'").records).toHaveLength(1);
    expect(run("SELECT Id FROM Contact WHERE LastName = 'a\\\\b\\nc'", { rows }).records).toHaveLength(1);
    expect(soqlError("SELECT Id FROM Account WHERE Name = 'a\\qb'").message).toBe(
      "Invalid string literal 'a\\qb'. Illegal character sequence '\\q' in string literal.",
    );
  });

  it('multipicklist INCLUDES / EXCLUDES', () => {
    expect(ids("SELECT Id FROM Account WHERE Tags__c INCLUDES ('blue')")).toEqual([A1]);
    expect(ids("SELECT Id FROM Account WHERE Tags__c INCLUDES ('blue;red', 'green')")).toEqual([A1, A2]);
    expect(ids("SELECT Id FROM Account WHERE Tags__c EXCLUDES ('green')")).toEqual([A1, A3]);
    expect(ids("SELECT Id FROM Account WHERE Tags__c = 'blue;red'")).toEqual([A1]);
  });

  it('semi-join IN (SELECT ...)', () => {
    expect(ids('SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)')).toEqual([A1, A2]);
    expect(ids('SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)')).toEqual([A3]);
  });
});

describe('dates', () => {
  it('datetime literals in Z, offset and millisecond forms compare as instants', () => {
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = 2024-03-15T08:00:00Z')).toEqual([A3]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = 2024-03-15T09:00:00+01:00')).toEqual([A3]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = 2024-03-15T03:00:00.000-05:00')).toEqual([A3]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate < 2024-03-15T08:00:00.000Z')).toEqual([A1, A2]);
  });

  it('date literals on date fields', () => {
    expect(ids('SELECT Id FROM Account WHERE SLAExpirationDate__c = 2024-03-15')).toEqual([A1]);
    expect(ids('SELECT Id FROM Account WHERE SLAExpirationDate__c < 2024-03-15')).toEqual([A2]);
  });

  it('TODAY, YESTERDAY, LAST_N_DAYS:n, NEXT_N_DAYS:n follow the source clock', () => {
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = TODAY')).toEqual([A3]);
    expect(ids('SELECT Id FROM Account WHERE SLAExpirationDate__c = TODAY')).toEqual([A1]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate < TODAY')).toEqual([A1, A2]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = YESTERDAY')).toEqual([]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:5')).toEqual([A3]);
    expect(ids('SELECT Id FROM Account WHERE SLAExpirationDate__c = LAST_N_DAYS:5')).toEqual([A1, A2]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate > LAST_N_DAYS:100')).toEqual([]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = NEXT_N_DAYS:3')).toEqual([]);
    const later = new Date('2024-03-16T00:30:00Z');
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = YESTERDAY', { now: later })).toEqual([A3]);
    expect(ids('SELECT Id FROM Account WHERE SLAExpirationDate__c = NEXT_N_DAYS:3', { now: new Date('2024-03-12T10:00:00Z') })).toEqual([A1]);
    expect(ids('SELECT Id FROM Account WHERE CreatedDate = THIS_YEAR')).toEqual([A1, A2, A3]);
  });

  it('a literal of the wrong type is refused as Salesforce refuses it', () => {
    const e = soqlError("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'");
    expect(e.errorCode).toBe('INVALID_FIELD');
    expect(e.message).toMatch(/value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes$/);
    expect(soqlError('SELECT Id FROM Account WHERE Name = 5').message).toMatch(/field 'Name' must be of type string and should be enclosed in quotes$/);
    expect(soqlError("SELECT Id FROM Account WHERE Id = 'nope'")).toMatchObject({
      errorCode: 'INVALID_QUERY_FILTER_OPERATOR',
      message: 'invalid ID field: nope',
    });
  });
});

describe('ORDER BY, LIMIT, OFFSET', () => {
  it('several fields, ASC/DESC, Salesforce null defaults', () => {
    expect(names('SELECT Name FROM Account ORDER BY Industry, Name')).toEqual(['Global Media', 'Acme', 'salesforce.com']);
    expect(names('SELECT Name FROM Account ORDER BY Industry DESC')).toEqual(['salesforce.com', 'Acme', 'Global Media']);
    expect(names('SELECT Name FROM Account ORDER BY Industry ASC NULLS LAST')).toEqual(['Acme', 'salesforce.com', 'Global Media']);
    expect(names('SELECT Name FROM Account ORDER BY Industry DESC NULLS FIRST')).toEqual(['Global Media', 'salesforce.com', 'Acme']);
    expect(names('SELECT Name FROM Account ORDER BY Name DESC')).toEqual(['salesforce.com', 'Global Media', 'Acme']);
    expect(names('SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS LAST, Name')).toEqual(['Acme', 'Global Media', 'salesforce.com']);
  });

  it('LIMIT and OFFSET', () => {
    expect(names('SELECT Name FROM Account ORDER BY Name LIMIT 2')).toEqual(['Acme', 'Global Media']);
    expect(names('SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1')).toEqual(['Global Media', 'salesforce.com']);
    expect(names('SELECT Name FROM Account ORDER BY Name OFFSET 2')).toEqual(['salesforce.com']);
    expect(run('SELECT Name FROM Account LIMIT 0').totalSize).toBe(0);
    expect(run('SELECT COUNT() FROM Account LIMIT 2').totalSize).toBe(2);
  });

  it('keywords are case-insensitive', () => {
    expect(names("select name from account where name like 'a%' order by name desc nulls last limit 5 offset 0")).toEqual(['Acme']);
  });
});

describe('relationships', () => {
  it('parent fields nest with their own attributes, null when unset (query-relationship-parent.json)', () => {
    const r = run(`SELECT Name, Owner.Name from Account WHERE Id = '${A1}' LIMIT 1`);
    const expected = fixture('query-relationship-parent.json') as { records: Record<string, unknown>[] };
    expect(Object.keys(r.records[0]!)).toEqual(Object.keys(expected.records[0]!));
    expect(r.records[0]).toEqual({
      attributes: { type: 'Account', url: `/services/data/v59.0/sobjects/Account/${A1}` },
      Name: 'Acme',
      Owner: { attributes: { type: 'User', url: `/services/data/v59.0/sobjects/User/${U1}` }, Name: 'Guy Smiley' },
    });
    const c = run('SELECT LastName, Account.Name, Account.Owner.Name, AccountId FROM Contact ORDER BY LastName');
    expect(c.records.map((x) => x['Account'] && (x['Account'] as Record<string, unknown>)['Name'])).toEqual(['Global Media', 'Acme', null, 'Global Media']);
    expect(Object.keys(c.records[0]!)).toEqual(['attributes', 'LastName', 'Account', 'AccountId']);
    expect((c.records[0]!['Account'] as Record<string, unknown>)['Owner']).toEqual({
      attributes: { type: 'User', url: `/services/data/v59.0/sobjects/User/${U1}` },
      Name: 'Guy Smiley',
    });
  });

  it('polymorphic parents are typed Name (query-relationship-parent-and-child.json)', () => {
    const r = run('SELECT Id, Owner.Name FROM Case ORDER BY Subject');
    expect(r.records[0]!['Owner']).toEqual({
      attributes: { type: 'Name', url: `/services/data/v59.0/sobjects/Group/${Q1}` },
      Name: 'Support Queue',
    });
  });

  it('WHERE and ORDER BY on parent fields', () => {
    expect(run("SELECT LastName FROM Contact WHERE Account.Name = 'global media' ORDER BY LastName DESC").records.map((x) => x['LastName'])).toEqual([
      'Ripley',
      "D'Cruz",
    ]);
    expect(run('SELECT LastName FROM Contact ORDER BY Account.Name NULLS LAST, LastName').records.map((x) => x['LastName'])).toEqual([
      'Frank',
      "D'Cruz",
      'Ripley',
      'Orphan',
    ]);
  });

  it('child subqueries: nested QueryResult, null when empty (query-relationship-child-subquery.json)', () => {
    const r = run('SELECT Account.Name, (SELECT Contact.FirstName, Contact.LastName FROM Account.Contacts ORDER BY FirstName) FROM Account ORDER BY Name');
    const shape = fixture('query-relationship-child-subquery.json') as { records: Record<string, unknown>[] };
    expect(Object.keys(r.records[0]!)).toEqual(Object.keys(shape.records[0]!));
    expect(r.records[1]).toEqual({
      attributes: { type: 'Account', url: `/services/data/v59.0/sobjects/Account/${A2}` },
      Name: 'Global Media',
      Contacts: {
        totalSize: 2,
        done: true,
        records: [
          { attributes: { type: 'Contact', url: `/services/data/v59.0/sobjects/Contact/${id('003', 3)}` }, FirstName: 'Liz', LastName: "D'Cruz" },
          { attributes: { type: 'Contact', url: `/services/data/v59.0/sobjects/Contact/${id('003', 2)}` }, FirstName: 'Tom', LastName: 'Ripley' },
        ],
      },
    });
    expect(r.records[2]!['Contacts']).toBeNull();
    const limited = run("SELECT Id, (SELECT Id FROM contacts WHERE FirstName != 'Tom' LIMIT 1) FROM Account WHERE Name = 'Global Media'");
    expect((limited.records[0]!['Contacts'] as { totalSize: number }).totalSize).toBe(1);
  });

  it('unknown relationships', () => {
    expect(soqlError('SELECT Foo.Name FROM Contact')).toMatchObject({ errorCode: 'INVALID_FIELD' });
    expect(soqlError('SELECT Foo.Name FROM Contact').message).toMatch(/Didn't understand relationship 'Foo' in field path\./);
    expect(soqlError('SELECT Account.Foo FROM Contact').message).toMatch(/No such column 'Foo' on entity 'Account'\./);
    expect(soqlError('SELECT Id, (SELECT Id FROM Foos) FROM Account')).toMatchObject({ errorCode: 'INVALID_TYPE' });
  });
});

describe('aggregates and FIELDS()', () => {
  it('COUNT(Id) gives one AggregateResult row with expr0 (query-aggregate-count-id.json)', () => {
    const r = run('select count(Id) from Account');
    expect(r).toEqual({ totalSize: 1, records: [{ attributes: { type: 'AggregateResult' }, expr0: 3 }] });
    expect(Object.keys(r.records[0]!)).toEqual(Object.keys((fixture('query-aggregate-count-id.json') as { records: object[] }).records[0]!));
  });

  it('GROUP BY, aliases, SUM/MIN/MAX, HAVING and ORDER BY an aggregate', () => {
    const r = run('SELECT Industry, COUNT(Id) n, SUM(NumberOfEmployees), MAX(Name) FROM Account GROUP BY Industry ORDER BY COUNT(Id) DESC, Industry', {
      includeDeleted: true,
    });
    expect(r.records).toEqual([
      { attributes: { type: 'AggregateResult' }, Industry: 'Apparel', n: 2, expr0: 101, expr1: 'Deleted Co' },
      { attributes: { type: 'AggregateResult' }, Industry: null, n: 1, expr0: 5, expr1: 'Global Media' },
      { attributes: { type: 'AggregateResult' }, Industry: 'Technology', n: 1, expr0: null, expr1: 'salesforce.com' },
    ]);
    expect(run('SELECT Industry FROM Account GROUP BY Industry HAVING COUNT(Id) > 1', { includeDeleted: true }).totalSize).toBe(1);
    expect(soqlError('SELECT Name, COUNT(Id) FROM Account').message).toMatch(/Field must be grouped or aggregated: Name$/);
  });

  it('FIELDS(ALL) / FIELDS(STANDARD) / FIELDS(CUSTOM)', () => {
    const all = run(`SELECT FIELDS(ALL) FROM Account WHERE Id = '${A1}' LIMIT 200`).records[0]!;
    expect(Object.keys(all)).toContain('Tags__c');
    expect(Object.keys(all)).toContain('Name');
    const std = run(`SELECT Id, FIELDS(STANDARD) FROM Account WHERE Id = '${A1}'`).records[0]!;
    expect(Object.keys(std)).not.toContain('Tags__c');
    const custom = run(`SELECT FIELDS(CUSTOM) FROM Account LIMIT 1`).records[0]!;
    expect(Object.keys(custom)).toEqual(['attributes', 'Tags__c', 'Active__c', 'SLAExpirationDate__c']);
    expect(soqlError('SELECT FIELDS(ALL) FROM Account').message).toMatch(/The SOQL FIELDS function must have a LIMIT of at most 200$/);
  });
});

describe('more errors', () => {
  it('unknown column in WHERE and ORDER BY points at it', () => {
    expect(soqlError('SELECT Id FROM Account WHERE Nme = 1').message).toBe(
      "\nSELECT Id FROM Account WHERE Nme = 1\n                             ^\nERROR at Row:1:Column:30\nNo such column 'Nme' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
    );
    expect(soqlError('SELECT Id FROM Account ORDER BY Foo').errorCode).toBe('INVALID_FIELD');
  });

  it('multi-line queries report Row and Column of the line', () => {
    expect(soqlError('SELECT Id\nFROM Account\nWHERE Foo = 1').message).toMatch(/^\nWHERE Foo = 1\n {6}\^\nERROR at Row:3:Column:7\n/);
  });

  it('lexer errors and bind variables', () => {
    expect(soqlError('SELECT Id FROM Account WHERE Name = "x"').message).toBe("line 1:36 no viable alternative at character '\"'");
    expect(soqlError("SELECT Id FROM Account WHERE Name = 'x").message).toMatch(/^line 1:\d+ mismatched character '<EOF>'/);
    expect(soqlError('SELECT Id FROM Account WHERE Name = :x').message).toMatch(/Bind variables only allowed in Apex code$/);
  });

  it('empty and truncated queries', () => {
    expect(soqlError('').message).toBe('unexpected token: <EOF>');
    expect(soqlError('SELECT').message).toMatch(/unexpected token: <EOF>$/);
    expect(soqlError('SELECT Id').message).toMatch(/unexpected token: <EOF>$/);
    expect(soqlError('SELECT Id FROM Account LIMIT x').message).toMatch(/unexpected token: 'x'$/);
    expect(soqlError('SELECT Id, Id FROM Account').message).toMatch(/duplicate field selected: Id$/);
  });
});
