/**
 * Reading an object whose fields do not fit one query (field-plan.ts): the first chunk is read by the
 * caller's own query (cursor, window), the others by Id, 200 ids per query and 5 queries per composite,
 * and joined into the first chunk's rows.
 */
import type { ObjectFields } from './fields.js';
import { asQueryPage, composite, COMPOSITE_MAX_QUERIES, followPages, subError, type RestOptions } from './rest.js';
import type { OrgSession } from './session.js';
import { byIdsQuery, queryAllPath } from './soql.js';
import { parseSalesforceDate } from '../normalize/polled-row.js';

export const IDS_PER_QUERY = 200;

type Row = Record<string, unknown>;

/** Rows of `chunk` for `ids`, through queryAll (deleted rows too), keyed by the Id as Salesforce wrote it. */
async function readChunks(session: OrgSession, object: string, chunks: readonly string[][], ids: readonly string[], opts: RestOptions): Promise<Row[][]> {
  const queries: Array<{ chunk: number; url: string }> = [];
  chunks.forEach((fields, chunk) => {
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      queries.push({ chunk, url: queryAllPath(session.apiVersion, byIdsQuery(object, fields, ids.slice(i, i + IDS_PER_QUERY))) });
    }
  });
  const out: Row[][] = chunks.map(() => []);
  for (let i = 0; i < queries.length; i += COMPOSITE_MAX_QUERIES) {
    const batch = queries.slice(i, i + COMPOSITE_MAX_QUERIES);
    const res = await composite(
      session,
      batch.map((q, j) => ({ referenceId: `c${j}`, url: q.url })),
      opts,
    );
    for (const [j, q] of batch.entries()) {
      const r = res.get(`c${j}`);
      const err = subError(r, `read ${object}`);
      if (err) throw err;
      out[q.chunk]!.push(...(await followPages(session, asQueryPage(r!.body, `read ${object}`), opts)));
    }
  }
  return out;
}

const idOf = (row: Row): string => String(row['Id'] ?? '');

function withoutAttributes(row: Row): Row {
  const { attributes: _a, ...values } = row;
  return values;
}

/**
 * Completes rows read with `fields.chunks[0]` with the other chunks, in the order given. A record changed
 * between the reads (another SystemModstamp in a later chunk) comes back undefined: its newer version is read whole by the next
 * cursor read, whose window starts at or before that version's SystemModstamp. A record gone from a later
 * chunk (purged meanwhile) keeps what the first read saw.
 */
export async function completeRows(session: OrgSession, fields: ObjectFields, rows: Row[], opts: RestOptions = {}): Promise<Array<Row | undefined>> {
  if (fields.chunks.length <= 1 || rows.length === 0) return rows;
  const ids = [...new Set(rows.map(idOf))];
  const parts = await readChunks(session, fields.object, fields.chunks.slice(1), ids, opts);
  const byId = new Map(rows.map((r) => [idOf(r), { ...r }]));
  const moved = new Set<string>();
  for (const part of parts) {
    for (const extra of part) {
      const id = idOf(extra);
      const row = byId.get(id);
      if (!row) continue;
      if (parseSalesforceDate(extra['SystemModstamp']) !== parseSalesforceDate(row['SystemModstamp'])) moved.add(id);
      else Object.assign(row, withoutAttributes(extra));
    }
  }
  return rows.map((r) => (moved.has(idOf(r)) ? undefined : byId.get(idOf(r))));
}

/**
 * The current rows of `ids` with every field, chunk by chunk. A record that changed between the reads
 * is returned as the later reads saw it, field by field: what it is asked for (completing a change
 * event) is followed by the change event of that later change anyway.
 */
export async function readRowsById(session: OrgSession, fields: ObjectFields, ids: readonly string[], opts: RestOptions = {}): Promise<Row[]> {
  if (ids.length === 0) return [];
  const parts = await readChunks(session, fields.object, fields.chunks, ids, opts);
  const byId = new Map<string, Row>();
  for (const row of parts[0] ?? []) byId.set(idOf(row), { ...row });
  for (const part of parts.slice(1)) {
    for (const extra of part) {
      const row = byId.get(idOf(extra));
      if (row) Object.assign(row, withoutAttributes(extra));
    }
  }
  return [...byId.values()];
}
