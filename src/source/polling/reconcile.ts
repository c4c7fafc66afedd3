/**
 * REST reads that repair what the CDC stream missed:
 * - `reconcilePages`: a window the stream could not replay (replayId expired, GAP_OVERFLOW). Every row whose
 *   SystemModstamp falls in the window, through queryAll so soft deletions show, one page at a time, then
 *   getDeleted for hard deletions and purged rows. Each page says where the read stands (`next`), so a caller
 *   can publish and checkpoint page by page and a later run resume from there. Without snapshots a change
 *   reads as CREATE (row still as created), UPDATE (changed fields unknown, `record` complete) or DELETE;
 *   an undelete inside the window reads as UPDATE.
 * - `fetchRecords`: the records a GAP_* event names, 200 ids per query and 5 queries per composite (every field chunk of a wide object).
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
import { asQueryPage, call, type QueryPage, type RestOptions } from '../../salesforce/rest.js';
import { cursorQuery, floorToMinute, getDeletedPath, GET_DELETED_MAX_AGE_MS, MINUTE_MS, queryAllPath } from '../../salesforce/soql.js';

export interface ReconcileWindow {
  sinceMs: number;
  /**
   * Default: no bound on rows (whatever changed since is read, also what streams meanwhile: sent twice
   * rather than cut off by a clock that lags Salesforce's), and getDeleted up to now.
   */
  untilMs?: number;
}

export interface ReconcileOptions extends RestOptions {
  /** Rows per query (keyset continuation between queries); default: one query, its pages followed to the end. */
  pageSize?: number;
  now?: () => number;
}

/**
 * Where a read of a window stands: rows after (since, afterId) in (SystemModstamp, Id) order are still to
 * read, or only getDeleted is left.
 */
export type ReconcileCursor = { phase: 'rows'; since: number; afterId?: string } | { phase: 'deleted' };

export interface ReconcilePage {
  changes: RawChange[];
  /** Where to resume once `changes` are published; undefined when the window is done. */
  next: ReconcileCursor | undefined;
}

async function fieldsOf(session: OrgSession, object: string, opts: RestOptions): Promise<ObjectFields> {
  const d = (await describeObjects(session, [object], opts)).get(object);
  if (!d?.ok) throw d?.error ?? new ValidationError(`cannot describe ${object}`);
  return d.fields;
}

/** The one query of a window read, from a cursor: keyset order, so that any page boundary is a resumable position. */
function windowQueryPath(
  session: OrgSession,
  fields: ObjectFields,
  from: { since: number; afterId?: string },
  until: number | undefined,
  pageSize?: number,
): string {
  const soql = cursorQuery({
    object: fields.object,
    // The first chunk of a wide object's fields keeps the GET inside the URI limit; the others are joined by Id.
    fields: fields.chunks[0] ?? fields.fields,
    since: from.since,
    ...(until !== undefined ? { until } : {}),
    ...(from.afterId ? { afterId: from.afterId } : {}),
    ...(pageSize !== undefined ? { limit: pageSize } : {}),
  });
  return queryAllPath(session.apiVersion, soql);
}

/** Deleted ids a window read remembers to skip getDeleted's copy of them: about 80 bytes each. */
const MAX_REMEMBERED_DELETIONS = 1_000_000;
/** Ids checked against the Recycle Bin per API call: 200 per query, 5 queries per composite. */
const BIN_CHECK = 1_000;
/** getDeleted answers a whole window at once; its changes go out in slices of this many. */
const DELETED_SLICE = 2_000;

/**
 * The window's changes one page at a time, oldest first, deletions from getDeleted last. Memory is one page
 * of rows plus the ids of the deletions seen (so that getDeleted does not announce them twice); a run resumed
 * from a cursor has not seen the earlier ones, and announces those again under the same ids.
 */
export async function* reconcilePages(
  session: OrgSession,
  object: string,
  window: ReconcileWindow,
  opts: ReconcileOptions & { from?: ReconcileCursor } = {},
): AsyncGenerator<ReconcilePage> {
  const now = (opts.now ?? Date.now)();
  const until = window.untilMs;
  const fields = await fieldsOf(session, object, opts);
  const seenDeleted = new Set<string>();
  const from = opts.from ?? { phase: 'rows', since: window.sinceMs };
  if (from.phase === 'rows') {
    let cursor: { since: number; afterId?: string } = { since: from.since, ...(from.afterId ? { afterId: from.afterId } : {}) };
    for (;;) {
      let page: QueryPage = asQueryPage(
        await call<unknown>(session, { method: 'GET', url: windowQueryPath(session, fields, cursor, until, opts.pageSize) }, opts),
        `reconcile ${object}`,
      );
      let read = 0;
      for (;;) {
        read += page.records.length;
        // Only within a page: a record appears once in the window's order.
        const batch = new CycleBatch(createRecordMemory({ maxBytes: 16 * 1024 * 1024 }), session.orgId, 'reconcile');
        // A row that changed between the chunk reads is left out here: its newer SystemModstamp puts it
        // further along this same keyset order, where it is read again whole.
        for (const row of await completeRows(session, fields, page.records, opts)) {
          if (!row) continue;
          const change = batch.addRow(fields.object, row, true, window.sinceMs, fields.calculated);
          if (change?.changeType === 'DELETE' && seenDeleted.size < MAX_REMEMBERED_DELETIONS) seenDeleted.add(change.recordId);
        }
        const last = page.records[page.records.length - 1];
        const stamp = last ? parseSalesforceDate(last['SystemModstamp']) : undefined;
        if (last && stamp !== undefined) cursor = { since: stamp, afterId: String(last['Id']) };
        const more = !page.done && !!page.nextRecordsUrl;
        const finished = !more && (opts.pageSize === undefined || read < opts.pageSize);
        yield { changes: batch.changes, next: finished ? { phase: 'deleted' } : { phase: 'rows', ...cursor } };
        if (!more) break;
        page = asQueryPage(await call<unknown>(session, { method: 'GET', url: page.nextRecordsUrl! }, opts), 'nextRecordsUrl');
      }
      if (opts.pageSize === undefined || read < opts.pageSize) break;
    }
  }
  if (!fields.replicateable) {
    yield { changes: [], next: undefined };
    return;
  }
  const start = Math.max(floorToMinute(window.sinceMs), floorToMinute(now - GET_DELETED_MAX_AGE_MS));
  // getDeleted has minute granularity: round the end up so the window's last minute is included.
  const end = Math.max(start + MINUTE_MS, floorToMinute((until ?? now) + MINUTE_MS - 1));
  const deleted = await call<{ deletedRecords?: DeletedEntry[] }>(
    session,
    { method: 'GET', url: getDeletedPath(session.apiVersion, fields.object, start, end) },
    opts,
  );
  const unseen = (deleted.deletedRecords ?? []).filter((entry) => {
    const at = parseSalesforceDate(entry.deletedDate);
    const id18 = toId18(entry.id);
    return at !== undefined && at >= window.sinceMs && (until === undefined || at <= until) && id18 !== undefined && !seenDeleted.has(id18);
  });
  // A deleted row still in the Recycle Bin was read as deleted by the rows of the window (its deletion moved
  // its SystemModstamp into it), in this run or in the run this one resumes: only rows gone for good are new.
  const stillThere = new Set<string>();
  for (let i = 0; i < unseen.length; i += BIN_CHECK) {
    const rows = await fetchRecords(
      session,
      fields.object,
      unseen.slice(i, i + BIN_CHECK).map((e) => e.id),
      opts,
    );
    for (const row of rows) stillThere.add(toId18(String(row['Id'])) ?? '');
  }
  const entries = unseen.filter((e) => !stillThere.has(toId18(e.id) ?? ''));
  for (let i = 0; i < entries.length || i === 0; i += DELETED_SLICE) {
    const batch = new CycleBatch(createRecordMemory({ maxBytes: 16 * 1024 * 1024 }), session.orgId, 'reconcile');
    for (const entry of entries.slice(i, i + DELETED_SLICE)) batch.addDeleted(fields.object, entry);
    yield { changes: batch.changes, next: i + DELETED_SLICE < entries.length ? { phase: 'deleted' } : undefined };
  }
}

/** Every change of the window at once, in commit order: for small windows and tests. */
export async function reconcile(session: OrgSession, object: string, window: ReconcileWindow, opts: ReconcileOptions = {}): Promise<RawChange[]> {
  const all: RawChange[] = [];
  for await (const page of reconcilePages(session, object, window, opts)) all.push(...page.changes);
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
