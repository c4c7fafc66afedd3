import { execute } from './evaluator.js';
import { parseSyntax } from './parser.js';
import type { ParsedQuery } from './query.js';
import { Resolver } from './resolve.js';
import type { SoqlDataSource, SoqlResult } from './types.js';

export { SoqlError, type SoqlErrorCode } from './errors.js';
export type { ParsedQuery } from './query.js';
export type { SoqlDataSource, SoqlFieldInfo, SoqlFieldType, SoqlObjectInfo, SoqlResult } from './types.js';

/** Parses and resolves names against `source.describe`; throws SoqlError worded as Salesforce words it. */
export function parseSoql(text: string, source: SoqlDataSource): ParsedQuery {
  return new Resolver(parseSyntax(text), source).top();
}

/** COUNT(): totalSize is the count and records is empty. Otherwise totalSize is the number of rows returned. */
export function executeSoql(q: ParsedQuery, source: SoqlDataSource, opts: { apiVersion: string; includeDeleted: boolean }): SoqlResult {
  return execute(q, source, opts);
}
