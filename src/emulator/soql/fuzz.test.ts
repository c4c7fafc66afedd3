import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SoqlError, executeSoql, parseSoql } from './index.js';
import { id, memorySource } from '../../../testkit/emulator/soql.js';

const source = memorySource({
  Account: [{ Id: id('001', 1), Name: 'Acme', IsDeleted: false, CreatedDate: '2024-01-01T00:00:00.000+0000' }],
  Contact: [{ Id: id('003', 1), LastName: 'X', AccountId: id('001', 1), IsDeleted: false }],
});

/** Either a result or a SoqlError: anything else would reach the REST layer as a 500, which Salesforce never sends. */
function onlySoqlErrors(text: string): void {
  try {
    const q = parseSoql(text, source);
    executeSoql(q, source, { apiVersion: '59.0', includeDeleted: false });
  } catch (e) {
    if (!(e instanceof SoqlError)) throw new Error(`${String(e)} for ${JSON.stringify(text)}`, { cause: e });
    expect(e.message.length).toBeGreaterThan(0);
  }
}

const WORDS = [
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'INCLUDES',
  'ORDER',
  'BY',
  'GROUP',
  'HAVING',
  'ASC',
  'DESC',
  'NULLS',
  'FIRST',
  'LAST',
  'LIMIT',
  'OFFSET',
  'COUNT',
  'SUM',
  'FIELDS',
  'ALL',
  'null',
  'true',
  'TODAY',
  'LAST_N_DAYS',
  'Account',
  'Contact',
  'Contacts',
  'Id',
  'Name',
  'CreatedDate',
  'AccountId',
  'Account.Name',
  'Foo',
  '(',
  ')',
  ',',
  '.',
  ':',
  '=',
  '!=',
  '<>',
  '<',
  '>=',
  '-',
  "'a%'",
  "'x\\'y'",
  "'",
  '"',
  '5',
  '2.5',
  '2024-01-02',
  '2024-01-02T03:04:05Z',
  '2024-01-02T03:04:05.000+01:00',
  `'${id('001', 1)}'`,
  '\n',
  '\\',
];

describe('malformed input throws SoqlError, never another exception', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), onlySoqlErrors), { numRuns: 2000 });
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => onlySoqlErrors(`SELECT Id FROM Account ${s}`)),
      { numRuns: 1000 },
    );
  });

  it('token soup', () => {
    const soup = fc.array(fc.constantFrom(...WORDS), { maxLength: 25 }).map((ws) => ws.join(' '));
    fc.assert(fc.property(soup, onlySoqlErrors), { numRuns: 5000 });
    fc.assert(
      fc.property(soup, (s) => onlySoqlErrors(`SELECT Id, Name FROM Account WHERE ${s}`)),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(soup, (s) => onlySoqlErrors(`SELECT ${s} FROM Contact`)),
      { numRuns: 3000 },
    );
  });

  it('deep nesting', () => {
    onlySoqlErrors(`SELECT Id FROM Account WHERE ${'('.repeat(50_000)}Name = 'a'${')'.repeat(50_000)}`);
    onlySoqlErrors(`SELECT Id FROM Account WHERE ${'NOT '.repeat(50_000)}Name = 'a'`);
    expect(() => parseSoql(`SELECT Id FROM Account WHERE ${'('.repeat(50)}Name = 'a'${')'.repeat(50)}`, source)).not.toThrow();
  });

  it('mutations of valid queries', () => {
    const valid = [
      "SELECT Id, Account.Name, (SELECT Id FROM Contacts) FROM Account WHERE Name LIKE 'a%' AND CreatedDate > LAST_N_DAYS:3 ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 1",
      'SELECT COUNT() FROM Contact WHERE AccountId IN (SELECT Id FROM Account)',
      'SELECT Name, COUNT(Id) FROM Account GROUP BY Name HAVING COUNT(Id) > 0 ORDER BY COUNT(Id)',
    ];
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat({ max: 12 }), fc.string({ maxLength: 3 })).map(([q, at, del, ins]) => {
      const i = at % (q.length + 1);
      return q.slice(0, i) + ins + q.slice(i + del);
    });
    fc.assert(fc.property(mutated, onlySoqlErrors), { numRuns: 5000 });
  });
});
