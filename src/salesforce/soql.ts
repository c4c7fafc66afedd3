/**
 * The SOQL and REST paths polling sends. Object and field names reach URLs and query text, so they are
 * checked against the API-name grammar here rather than trusted: a subscription's `object` comes from
 * a user.
 */
import { ValidationError } from '../core/errors.js';

const API_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
const SF_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

export function assertApiName(name: string, what = 'object'): string {
  if (!API_NAME.test(name)) throw new ValidationError(`${what} ${JSON.stringify(name)} is not a Salesforce API name`);
  return name;
}

/** SOQL datetime literal. Salesforce accepts milliseconds; its own stamps are whole seconds. */
export function soqlDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

function idLiteral(id: string): string {
  // Ids are alphanumeric; refusing anything else is simpler and safer than escaping.
  if (!SF_ID.test(id)) throw new ValidationError(`${JSON.stringify(id)} is not a Salesforce id`);
  return `'${id}'`;
}

export interface CursorQuery {
  object: string;
  fields: readonly string[];
  /** Lower bound on SystemModstamp (epoch ms). */
  since: number;
  /**
   * Keyset continuation: rows after (since, afterId) in (SystemModstamp, Id) order. Without it, every
   * row with SystemModstamp >= since: the first page of a cycle re-reads the overlap window on purpose.
   */
  afterId?: string;
  /** Upper bound (inclusive), for a reconcile window. */
  until?: number;
  /** At most this many rows (≤ 2,000); without it, every row, read page by page through nextRecordsUrl. */
  limit?: number;
}

export function cursorQuery(q: CursorQuery): string {
  const object = assertApiName(q.object);
  const fields = q.fields.map((f) => assertApiName(f, 'field')).join(', ');
  const s = soqlDateTime(q.since);
  let where =
    q.afterId !== undefined && q.afterId !== ''
      ? `((SystemModstamp = ${s} AND Id > ${idLiteral(q.afterId)}) OR SystemModstamp > ${s})`
      : `SystemModstamp >= ${s}`;
  if (q.until !== undefined) where += ` AND SystemModstamp <= ${soqlDateTime(q.until)}`;
  const order = `SELECT ${fields} FROM ${object} WHERE ${where} ORDER BY SystemModstamp ASC, Id ASC`;
  if (q.limit === undefined) return order;
  return `${order} LIMIT ${Math.max(1, Math.min(2000, Math.trunc(q.limit)))}`;
}

export function byIdsQuery(object: string, fields: readonly string[], ids: readonly string[]): string {
  const list = ids.map(idLiteral).join(', ');
  return `SELECT ${fields.map((f) => assertApiName(f, 'field')).join(', ')} FROM ${assertApiName(object)} WHERE Id IN (${list})`;
}

export function dataPath(apiVersion: string): string {
  return `/services/data/v${apiVersion}`;
}

/** queryAll, not query: deleted rows (IsDeleted = true, SystemModstamp bumped) must come back too. */
export function queryAllPath(apiVersion: string, soql: string): string {
  return `${dataPath(apiVersion)}/queryAll/?q=${encodeURIComponent(soql)}`;
}

export function describePath(apiVersion: string, object: string): string {
  return `${dataPath(apiVersion)}/sobjects/${assertApiName(object)}/describe`;
}

export const SECOND_MS = 1000;
export const floorToSecond = (ms: number): number => ms - (((ms % SECOND_MS) + SECOND_MS) % SECOND_MS);
export const MINUTE_MS = 60_000;
export const floorToMinute = (ms: number): number => ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);

/** getDeleted wants `2013-05-05T00:00:00+00:00`; it ignores seconds, so callers pass whole minutes. */
function getDeletedDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export function getDeletedPath(apiVersion: string, object: string, startMs: number, endMs: number): string {
  const start = encodeURIComponent(getDeletedDate(startMs));
  const end = encodeURIComponent(getDeletedDate(endMs));
  return `${dataPath(apiVersion)}/sobjects/${assertApiName(object)}/deleted/?start=${start}&end=${end}`;
}

/** getDeleted answers for at most 15 days back (INVALID_REPLICATION_DATE beyond); keep a minute of margin. */
export const GET_DELETED_MAX_AGE_MS = 15 * 24 * 3600 * 1000 - MINUTE_MS;
