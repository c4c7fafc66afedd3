/**
 * REST reads that repair what the CDC stream missed:
 * - `reconcile`: a window the stream could not replay (replayId expired, GAP_OVERFLOW). Every row whose
 *   SystemModstamp falls in the window, through queryAll so soft deletions show, plus getDeleted for hard
 *   deletions and purged rows. Without snapshots a change reads as CREATE (row still as created), UPDATE
 *   (changedFields empty, `record` complete) or DELETE; an undelete inside the window reads as UPDATE.
 * - `fetchRecords`: the records a GAP_* event names, 200 ids per query and 5 queries per composite.
 */
import { ValidationError } from '../../core/errors.js';
import { toId18 } from '../../events/salesforce-id.js';
import { parseSalesforceDate } from '../../normalize/polled-row.js';
import type { RawChange } from '../../normalize/raw-change.js';
import type { OrgSession } from '../../salesforce/session.js';
import { CycleBatch, type DeletedEntry } from './batch.js';
import { describeObjects } from '../../salesforce/describe.js';
import type { ObjectFields } from '../../salesforce/fields.js';
import { createRecordMemory } from './memory.js';
import { completeRows, readRowsById } from '../../salesforce/wide-read.js';
import { asQueryPage, call, followPages, type RestOptions } from '../../salesforce/rest.js';
import { cursorQuery, floorToMinute, getDeletedPath, GET_DELETED_MAX_AGE_MS, MINUTE_MS, queryAllPath } from '../../salesforce/soql.js';

export interface ReconcileWindow {
  sinceMs: number;
  /** Default: now. */
  untilMs?: number;
}

export interface ReconcileOptions extends RestOptions {
  pageSize?: number;
  now?: () => number;
}

async function fieldsOf(session: OrgSession, object: string, opts: RestOptions): Promise<ObjectFields> {
  const d = (await describeObjects(session, [object], opts)).get(object);
  if (!d?.ok) throw d?.error ?? new ValidationError(`cannot describe ${object}`);
  return d.fields;
}

/**
 * The window's changes page by page, oldest first, deletions from getDeleted last: a caller can publish
 * and checkpoint each batch instead of holding a 72-hour backlog in memory.
 */
export async function* reconcileBatches(
  session: OrgSession,
  object: string,
  window: ReconcileWindow,
  opts: ReconcileOptions = {},
): AsyncGenerator<RawChange[]> {
  const now = (opts.now ?? Date.now)();
  const until = window.untilMs ?? now;
  const limit = opts.pageSize ?? 2000;
  const fields = await fieldsOf(session, object, opts);
  // Only this window's rows: dedupes getDeleted against queryAll, then is dropped. Bounded by size, not
  // by count: an LRUCache with \`max\` allocates its arrays up front, and one of a million entries took
  // 120 ms of CPU to make, most of what it cost an instance to start following an org.
  const batchMemory = createRecordMemory({ maxBytes: 64 * 1024 * 1024 });
  let since = window.sinceMs;
  let afterId: string | undefined;
  for (;;) {
    // The first chunk of a wide object's fields keeps the GET inside the URI limit; the others are joined by Id.
    const soql = cursorQuery({ object: fields.object, fields: fields.chunks[0] ?? fields.fields, since, until, limit, ...(afterId ? { afterId } : {}) });
    const first = asQueryPage(await call<unknown>(session, { method: 'GET', url: queryAllPath(session.apiVersion, soql) }, opts), `reconcile ${object}`);
    const rows = await followPages(session, first, opts);
    const batch = new CycleBatch(batchMemory, session.orgId, 'reconcile');
    // A row that changed between the reads is left to the stream, which carries that later change.
    for (const row of await completeRows(session, fields, rows, opts)) if (row) batch.addRow(fields.object, row, true, window.sinceMs, fields.calculated);
    batch.apply();
    if (batch.changes.length > 0) yield batch.changes;
    if (rows.length < limit) break;
    const last = rows[rows.length - 1]!;
    since = parseSalesforceDate(last['SystemModstamp']) ?? until;
    afterId = String(last['Id']);
  }
  if (!fields.replicateable) return;
  const start = Math.max(floorToMinute(window.sinceMs), floorToMinute(now - GET_DELETED_MAX_AGE_MS));
  // getDeleted has minute granularity: round the end up so the window's last minute is included.
  const end = Math.max(start + MINUTE_MS, floorToMinute(until + MINUTE_MS - 1));
  const deleted = await call<{ deletedRecords?: DeletedEntry[] }>(
    session,
    { method: 'GET', url: getDeletedPath(session.apiVersion, fields.object, start, end) },
    opts,
  );
  const batch = new CycleBatch(batchMemory, session.orgId, 'reconcile');
  for (const entry of deleted.deletedRecords ?? []) {
    const at = parseSalesforceDate(entry.deletedDate);
    if (at !== undefined && at >= window.sinceMs && at <= until) batch.addDeleted(fields.object, entry);
  }
  if (batch.changes.length > 0) yield batch.changes;
}

export async function reconcile(session: OrgSession, object: string, window: ReconcileWindow, opts: ReconcileOptions = {}): Promise<RawChange[]> {
  const all: RawChange[] = [];
  for await (const changes of reconcileBatches(session, object, window, opts)) all.push(...changes);
  return all.sort((a, b) => a.commitTimestamp - b.commitTimestamp);
}

/**
 * The current rows of `ids` (deleted ones included, with IsDeleted = true); ids that no longer exist at
 * all are simply absent. Wildcards (`001*` in a GAP event) are not ids: reconcile the entity instead.
 */
export async function fetchRecords(session: OrgSession, object: string, ids: string[], opts: RestOptions = {}): Promise<Record<string, unknown>[]> {
  const bad = ids.filter((id) => toId18(id) === undefined);
  if (bad.length > 0) throw new ValidationError(`fetchRecords: not record ids: ${bad.slice(0, 5).join(', ')}`);
  const unique = [...new Set(ids.map((id) => toId18(id)!))];
  if (unique.length === 0) return [];
  const fields = await fieldsOf(session, object, opts);
  return readRowsById(session, fields, unique, opts);
}
