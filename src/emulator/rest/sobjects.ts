/** sObject resources: describeGlobal, describe, CRUD, getDeleted and getUpdated. */
import { floorToMinute, parseDateTime, sfDateTime } from '../clock.js';
import { changeOrigin, createRecord, deleteRecord, inTransaction, updateRecord } from '../dml.js';
import { keyPrefixOf, normalizeId } from '../ids.js';
import { describeBody, globalEntry, type ObjectMeta } from '../metadata/objects.js';
import { RECYCLE_BIN_MS } from '../store.js';
import { errors, sfError } from '../sf-errors.js';
import type { Transaction } from '../transaction.js';
import type { RestCall, RestResult } from './call.js';
import { recordUrl, toRest } from './records.js';

const UPDATED_WINDOW_MS = 30 * 24 * 3600 * 1000;

/** Runs a write in the caller's transaction (composite) or in its own. */
export function write<T>(call: RestCall, fn: (txn: Transaction) => T): T {
  if (call.txn) return fn(call.txn);
  return inTransaction(call.org, changeOrigin(call.version, call.client), fn);
}

export function objectOr404(call: RestCall, name: string | undefined): ObjectMeta {
  const meta = name ? call.org.object(name) : undefined;
  if (!meta) throw errors.notFoundResource();
  return meta;
}

export function describeGlobal(call: RestCall): RestResult {
  return {
    status: 200,
    body: {
      encoding: 'UTF-8',
      maxBatchSize: 200,
      sobjects: call.org.objects().map((m) => globalEntry(m, call.version)),
    },
  };
}

export function sobjectInfo(call: RestCall, meta: ObjectMeta): RestResult {
  return { status: 200, body: { objectDescribe: globalEntry(meta, call.version), recentItems: [] } };
}

export function describe(call: RestCall, meta: ObjectMeta): RestResult {
  return { status: 200, body: describeBody(meta, call.version, call.em.instanceUrlOf(call.org), call.org.childRelationships(meta)) };
}

export function create(call: RestCall, meta: ObjectMeta): RestResult {
  const id = write(call, (txn) => createRecord(call.org, txn, meta, call.body));
  return {
    status: 201,
    body: { id, success: true, errors: [] },
    headers: { Location: recordUrl(call.version, meta.name, id) },
  };
}

/** The id in the URL, or Salesforce's error for a malformed one (GET treats it as an external id). */
function urlId(call: RestCall, meta: ObjectMeta, raw: string): string {
  const id = normalizeId(raw);
  if (id && keyPrefixOf(id) === meta.keyPrefix) return id;
  if (call.method === 'GET') throw errors.notFoundExternalId(raw);
  throw errors.malformedId(raw);
}

export function retrieve(call: RestCall, meta: ObjectMeta, rawId: string): RestResult {
  const id = urlId(call, meta, rawId);
  const row = call.org.store.get(id);
  if (!row || row.object !== meta.name || row.values.IsDeleted === true) throw errors.notFound();
  const fieldsParam = call.query.get('fields');
  let only: string[] | undefined;
  if (fieldsParam) {
    only = fieldsParam.split(',').map((raw) => {
      const f = meta.byLower.get(raw.trim().toLowerCase());
      if (!f) {
        throw sfError(
          400,
          'INVALID_FIELD',
          `No such column '${raw.trim()}' on entity '${meta.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      }
      return f.name;
    });
  }
  return { status: 200, body: toRest(meta, row, call.version, only) };
}

export function update(call: RestCall, meta: ObjectMeta, rawId: string): RestResult {
  const id = urlId(call, meta, rawId);
  write(call, (txn) => updateRecord(call.org, txn, meta, id, call.body));
  return { status: 204 };
}

export function destroy(call: RestCall, meta: ObjectMeta, rawId: string): RestResult {
  const id = urlId(call, meta, rawId);
  const row = call.org.store.get(id);
  // A hard-deleted CampaignMember is simply gone.
  if (!row && meta.hardDelete) throw errors.notFound();
  write(call, (txn) => deleteRecord(call.org, txn, meta, id));
  return { status: 204 };
}

function window(call: RestCall, maxBackMs: number): { start: number; end: number; now: number } {
  const startRaw = call.query.get('start');
  const endRaw = call.query.get('end');
  if (!startRaw || !endRaw) {
    throw sfError(400, 'MISSING_ARGUMENT', `Missing required parameter: ${startRaw ? 'end' : 'start'}`);
  }
  const start = parseDateTime(startRaw);
  const end = parseDateTime(endRaw);
  if (start === undefined || end === undefined) {
    throw sfError(400, 'INVALID_PARAMETER_VALUE', `Unable to parse date: ${start === undefined ? startRaw : endRaw}`);
  }
  const now = call.org.clock.now();
  if (end < start) throw sfError(400, 'INVALID_REPLICATION_DATE', 'endDate cannot be before startDate');
  if (start < now - maxBackMs) {
    throw sfError(400, 'INVALID_REPLICATION_DATE', `startDate cannot be more than ${Math.round(maxBackMs / 86_400_000)} days ago`);
  }
  // Salesforce works at minute granularity and never covers the minute still in progress.
  return { start: floorToMinute(start), end: Math.min(floorToMinute(end), floorToMinute(now)), now };
}

export function getDeleted(call: RestCall, meta: ObjectMeta): RestResult {
  const { start, end, now } = window(call, RECYCLE_BIN_MS);
  call.org.store.purge(now);
  const deletedRecords = call.org.store.deletedBetween(meta.name, start, end).map((e) => ({ id: e.id, deletedDate: sfDateTime(e.at) }));
  // "The timestamp ... of the last physically deleted object": the 15-day purge, or an emptied Recycle Bin.
  const earliest = Math.max(floorToMinute(now - RECYCLE_BIN_MS), call.org.store.physicallyDeletedUntil);
  return {
    status: 200,
    body: { deletedRecords, earliestDateAvailable: sfDateTime(earliest), latestDateCovered: sfDateTime(end) },
  };
}

export function getUpdated(call: RestCall, meta: ObjectMeta): RestResult {
  const { start, end } = window(call, UPDATED_WINDOW_MS);
  const ids: string[] = [];
  for (const row of call.org.store.table(meta.name).values()) {
    if (row.values.IsDeleted === true) continue;
    const ts = parseDateTime(String(row.values.SystemModstamp ?? ''));
    if (ts !== undefined && ts >= start && ts < end) ids.push(row.id);
  }
  return { status: 200, body: { ids, latestDateCovered: sfDateTime(end) } };
}

/** The rows whose external-id field equals `value`, or Salesforce's error for a field that cannot be one. */
function matchExternalId(call: RestCall, meta: ObjectMeta, field: string, value: string): { fieldName: string; ids: string[] } {
  const f = meta.byLower.get(field.toLowerCase());
  if (!f || (f.describe.idLookup !== true && f.describe.externalId !== true)) {
    throw sfError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`);
  }
  if (f.name === 'Id') {
    const id = normalizeId(value);
    const row = id ? call.org.store.get(id) : undefined;
    return { fieldName: f.name, ids: row && row.object === meta.name && row.values.IsDeleted !== true ? [row.id] : [] };
  }
  const ids: string[] = [];
  const needle = value.toLowerCase();
  for (const row of call.org.store.table(meta.name).values()) {
    const v = row.values[f.name];
    if (row.values.IsDeleted !== true && v != null && String(v).toLowerCase() === needle) ids.push(row.id);
  }
  return { fieldName: f.name, ids };
}

/** PATCH /sobjects/T/Field/value: update the one match, create when there is none, 300 when several. */
export function upsert(call: RestCall, meta: ObjectMeta, field: string, value: string): RestResult {
  const { fieldName, ids } = matchExternalId(call, meta, field, value);
  if (ids.length > 1) return { status: 300, body: ids.map((id) => recordUrl(call.version, meta.name, id)) };
  const body = { ...((call.body ?? {}) as Record<string, unknown>) };
  for (const k of Object.keys(body)) if (k.toLowerCase() === fieldName.toLowerCase()) delete body[k];
  if (ids.length === 1) {
    const id = ids[0]!;
    write(call, (txn) => updateRecord(call.org, txn, meta, id, body));
    // Before API 46.0 an upsert that updated answered 204 without a body.
    if (Number(call.version) < 46) return { status: 204 };
    return { status: 200, body: { id, success: true, errors: [], created: false } };
  }
  if (call.query.get('updateOnly') === 'true') throw errors.notFound();
  if (fieldName !== 'Id') body[fieldName] = value;
  const id = write(call, (txn) => createRecord(call.org, txn, meta, body));
  return {
    status: 201,
    body: { id, success: true, errors: [], created: true },
    headers: { Location: recordUrl(call.version, meta.name, id) },
  };
}
