/**
 * What Salesforce refuses before running a query. A SOQL statement may be 100,000 characters long, and
 * the statement counts as Salesforce expands it internally: each formula field is replaced by its
 * compiled SQL, each currency field by a format call around its name. A statement that grows past the
 * limit that way is refused with QUERY_TOO_COMPLICATED (see README, Wide objects).
 */
import type { ObjectMeta } from '../metadata/objects.js';
import type { ParsedQuery } from '../soql/query.js';
import { sfError } from '../sf-errors.js';

export const SOQL_MAX_CHARS = 100_000;
/** Salesforce compiles a formula to at most 5,000 characters; the emulator assumes a fifth of that for every formula. */
export const FORMULA_EXPANSION_CHARS = 1_000;

export function expandedLength(text: string, q: ParsedQuery, meta: ObjectMeta | undefined): number {
  let size = text.length;
  if (!meta) return size;
  for (const node of q.fields) {
    if (node.kind !== 'field') continue;
    const f = meta.byLower.get(node.field.name.toLowerCase());
    if (f?.calculated) size += FORMULA_EXPANSION_CHARS;
    else if (f?.type === 'currency') size += f.name.length;
  }
  return size;
}

export function assertNotTooComplicated(text: string, q: ParsedQuery, meta: ObjectMeta | undefined): void {
  if (expandedLength(text, q, meta) > SOQL_MAX_CHARS) {
    throw sfError(400, 'QUERY_TOO_COMPLICATED', 'Query is either selecting too many fields or the filter conditions are too complicated.');
  }
}
