import { describe, expect, it } from 'vitest';
import { CHUNK_KEYS, expandedCost, FORMULA_COMPILED_MAX_CHARS, planFieldChunks, SOQL_MAX_CHARS, URI_MAX_BYTES, type PlanField } from './field-plan.js';
import { fieldsFromDescribe } from './fields.js';
import { byIdsQuery, cursorQuery, queryAllPath } from './soql.js';

const system: PlanField[] = ['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp', 'Name', 'OwnerId'].map((name) => ({
  name,
  type: name === 'Id' ? 'id' : 'string',
}));
const plain: PlanField[] = Array.from({ length: 680 }, (_, i) => ({
  name: `Quarterly_Revenue_Field_${String(i).padStart(4, '0')}__c`,
  type: i % 5 === 0 ? 'currency' : 'string',
}));
const formulas: PlanField[] = Array.from({ length: 120 }, (_, i) => ({
  name: `Computed_Formula_${String(i).padStart(4, '0')}__c`,
  type: 'string',
  calculated: true,
}));
const wide = [...system, ...plain, ...formulas];
const ids = Array.from({ length: 200 }, (_, i) => `a01000000000${String(i).padStart(3, '0')}AAA`);

describe('planFieldChunks', () => {
  it('keeps a narrow object in one query with its fields in the order given', () => {
    expect(planFieldChunks(system)).toEqual([system.map((f) => f.name)]);
  });

  it('splits 800 fields with 120 formulas into queries that each fit the URI and the expanded statement, covering every field once', () => {
    const chunks = planFieldChunks(wide);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      for (const k of CHUNK_KEYS) expect(chunk).toContain(k);
      // The longest forms sent: a by-id read of 200 records and a keyset cursor page, both as GET URIs.
      expect(queryAllPath('62.0', byIdsQuery('Wide_Object__c', chunk, ids)).length).toBeLessThanOrEqual(URI_MAX_BYTES);
      const cursor = cursorQuery({ object: 'Wide_Object__c', fields: chunk, since: 0, afterId: ids[0]!, until: 1e12, limit: 2000 });
      expect(queryAllPath('62.0', cursor).length).toBeLessThanOrEqual(URI_MAX_BYTES);
      const expanded =
        byIdsQuery('Wide_Object__c', chunk, ids).length +
        chunk.map((n) => wide.find((f) => f.name === n)!).reduce((a, f) => a + expandedCost(f) - f.name.length, 0);
      expect(expanded).toBeLessThanOrEqual(SOQL_MAX_CHARS);
      // A formula may compile to 5,000 characters: no query holds more than the limit allows at worst.
      expect(chunk.filter((n) => n.startsWith('Computed_')).length * FORMULA_COMPILED_MAX_CHARS).toBeLessThan(SOQL_MAX_CHARS);
    }
    const seen = chunks.flat().filter((n) => !(CHUNK_KEYS as readonly string[]).includes(n));
    expect(seen.sort()).toEqual(
      wide
        .map((f) => f.name)
        .filter((n) => !(CHUNK_KEYS as readonly string[]).includes(n))
        .sort(),
    );
    expect(chunks[0]!.slice(0, 5)).toEqual(['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']);
  });

  it('reads the fields named first in the first query, even when formulas come before them', () => {
    const chunks = planFieldChunks([...formulas, ...system], undefined, ['Id', 'IsDeleted', 'CreatedDate', 'SystemModstamp']);
    expect(chunks[0]).toEqual(expect.arrayContaining(['Id', 'IsDeleted', 'CreatedDate', 'SystemModstamp']));
  });

  it('puts a join key ordered late into the first query', () => {
    const late = [{ name: 'Id' }, ...plain, { name: 'SystemModstamp' }];
    const chunks = planFieldChunks(late);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.filter((n) => n === 'SystemModstamp')).toHaveLength(1);
  });

  it('is what a describe turns into: formula fields named, chunks within limits', () => {
    const describe = {
      name: 'Wide_Object__c',
      replicateable: true,
      fields: wide.map((f) => ({ name: f.name, type: f.type, calculated: f.calculated === true })),
    };
    const fields = fieldsFromDescribe(describe);
    expect(fields.calculated).toHaveLength(120);
    expect(fields.chunks.length).toBeGreaterThan(1);
    expect(fields.chunks[0]!.slice(0, 5)).toEqual(['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp']);
    expect(fields.chunks.flat().filter((n) => n.startsWith('Computed_'))).toHaveLength(120);
  });
});
