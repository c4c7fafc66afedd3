/**
 * composite (≤ 25 subrequests, `@{ref.field}` references, allOrNone) and
 * sObject Collections. Each request is one transaction, so all of its change
 * events share one transactionKey with increasing sequenceNumbers.
 */
import { begin, changeOrigin, commit, createRecord, deleteRecord, updateRecord } from '../dml.js';
import { normalizeId } from '../ids.js';
import { SfApiError, sfError, type SfErrorItem } from '../sf-errors.js';
import type { Transaction } from '../transaction.js';
import type { RestCall, RestResult } from './call.js';
import { parseVersion } from './call.js';
import { toRest } from './records.js';
import { upsert } from './sobjects.js';

export type Dispatch = (call: RestCall) => RestResult;

const MAX_SUBREQUESTS = 25;
const MAX_COLLECTION = 200;
const HALTED = {
  errorCode: 'PROCESSING_HALTED',
  message: 'The transaction was rolled back since another operation in the same transaction failed.',
};

function resolvePath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return undefined;
    if (m[1]) cur = cur != null && typeof cur === 'object' ? (cur as Record<string, unknown>)[m[1]] : undefined;
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) cur = Array.isArray(cur) ? cur[Number(idx[1])] : undefined;
  }
  return cur;
}

class ReferenceError_ extends Error {}

function substitute(input: unknown, refs: Map<string, unknown>): unknown {
  if (typeof input === 'string') {
    const whole = /^@\{([^.}[]+)((?:\.|\[)[^}]*)\}$/.exec(input);
    const lookup = (ref: string, rest: string): unknown => {
      if (!refs.has(ref))
        throw new ReferenceError_(
          `Invalid reference specified. No value for ${ref}${rest} found in ${ref}. Provided referenceId ('${ref}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').`,
        );
      const v = resolvePath(refs.get(ref), rest.replace(/^\./, ''));
      if (v === undefined) throw new ReferenceError_(`Invalid reference specified. No value for ${ref}${rest} found in ${ref}.`);
      return v;
    };
    if (whole) return lookup(whole[1]!, whole[2]!);
    return input.replace(/@\{([^.}[]+)((?:\.|\[)[^}]*)\}/g, (_m, ref: string, rest: string) => String(lookup(ref, rest)));
  }
  if (Array.isArray(input)) return input.map((v) => substitute(v, refs));
  if (input && typeof input === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) out[k] = substitute(v, refs);
    return out;
  }
  return input;
}

function subCall(parent: RestCall, txn: Transaction, method: string, url: string, body: unknown): RestCall {
  const u = new URL(url, 'http://composite.invalid');
  const parts = u.pathname.split('/').filter(Boolean);
  if (parts[0] !== 'services' || parts[1] !== 'data' || !parseVersion(parts[2])) {
    throw new SfApiError(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  }
  return {
    ...parent,
    version: parseVersion(parts[2])!,
    method: method.toUpperCase(),
    segments: parts.slice(3).map(decodeURIComponent),
    query: u.searchParams,
    body,
    txn,
  };
}

export function composite(call: RestCall, dispatch: Dispatch): RestResult {
  const req = call.body as { allOrNone?: unknown; compositeRequest?: unknown } | null;
  const subs = req?.compositeRequest;
  if (!Array.isArray(subs) || subs.length === 0) {
    throw sfError(400, 'JSON_PARSER_ERROR', 'compositeRequest: required field is missing or empty');
  }
  if (subs.length > MAX_SUBREQUESTS) {
    throw sfError(400, 'LIMIT_EXCEEDED', `Limit Exceeded: compositeRequest contains ${subs.length} subrequests, the maximum is ${MAX_SUBREQUESTS}`);
  }
  const allOrNone = req?.allOrNone === true;
  const txn = call.txn ?? begin(call.org, changeOrigin(call.version, call.client));
  const refs = new Map<string, unknown>();
  const results: Array<Record<string, unknown>> = [];
  let failedAt = -1;
  for (const raw of subs as Array<Record<string, unknown>>) {
    const referenceId = String(raw.referenceId ?? '');
    if (failedAt >= 0) {
      results.push({ body: [HALTED], httpHeaders: {}, httpStatusCode: 400, referenceId });
      continue;
    }
    let result: RestResult;
    try {
      const url = substitute(String(raw.url ?? ''), refs) as string;
      const body = raw.body === undefined ? undefined : substitute(raw.body, refs);
      result = dispatch(subCall(call, txn, String(raw.method ?? 'GET'), url, body));
    } catch (err) {
      if (err instanceof ReferenceError_) result = { status: 400, body: [{ errorCode: 'PROCESSING_HALTED', message: err.message }] };
      else if (err instanceof SfApiError) result = { status: err.status, body: err.body };
      else throw err;
    }
    const ok = result.status < 400;
    if (ok && referenceId) refs.set(referenceId, result.body);
    results.push({
      body: result.body ?? null,
      httpHeaders: result.headers ?? {},
      httpStatusCode: result.status,
      referenceId,
    });
    if (!ok && allOrNone) failedAt = results.length - 1;
  }
  if (failedAt >= 0) {
    if (!call.txn) txn.rollback();
    results.forEach((r, i) => {
      if (i !== failedAt) Object.assign(r, { body: [HALTED], httpHeaders: {}, httpStatusCode: 400 });
    });
  } else if (!call.txn) {
    commit(call.org, txn);
  }
  return { status: 200, body: { compositeResponse: results } };
}

// ---------------------------------------------------------------------------
// sObject Collections

type Item = Record<string, unknown>;

function itemErrors(err: SfApiError): Array<{ statusCode: string; message: string; fields: string[] }> {
  return (err.body as SfErrorItem[]).map((e) => ({ statusCode: e.errorCode, message: e.message, fields: e.fields ?? [] }));
}

const ROLLED_BACK = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

/** Runs `ops` in one transaction; with allOrNone, the first failure rolls everything back. */
function collection(call: RestCall, allOrNone: boolean, ops: Array<(txn: Transaction) => string | undefined>, ids: Array<string | undefined>): RestResult {
  const txn = call.txn ?? begin(call.org, changeOrigin(call.version, call.client));
  const results: Item[] = [];
  let failed = false;
  ops.forEach((op, i) => {
    try {
      const id = op(txn);
      results.push({ id: id ?? ids[i], success: true, errors: [] });
    } catch (err) {
      if (!(err instanceof SfApiError)) throw err;
      failed = true;
      const r: Item = {};
      if (ids[i]) r.id = ids[i];
      r.success = false;
      r.errors = itemErrors(err);
      results.push(r);
    }
  });
  if (failed && allOrNone) {
    if (!call.txn) txn.rollback();
    for (const r of results) {
      if (r.success === true) {
        r.success = false;
        r.errors = [ROLLED_BACK];
        delete r.id;
      }
    }
  } else if (!call.txn) {
    commit(call.org, txn);
  }
  return { status: 200, body: results };
}

function records(call: RestCall): { allOrNone: boolean; records: Item[] } {
  const body = call.body as { allOrNone?: unknown; records?: unknown } | null;
  if (!body || !Array.isArray(body.records)) throw sfError(400, 'JSON_PARSER_ERROR', 'records: required field is missing');
  if (body.records.length > MAX_COLLECTION) {
    throw sfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`);
  }
  return { allOrNone: body.allOrNone === true, records: body.records as Item[] };
}

function typeOf(call: RestCall, rec: Item) {
  const type = (rec.attributes as { type?: unknown } | undefined)?.type;
  const meta = typeof type === 'string' ? call.org.object(type) : undefined;
  if (!meta)
    throw sfError(400, 'INVALID_TYPE', typeof type === 'string' ? `sObject type '${type}' is not supported.` : 'Must specify a type for the sObject', []);
  return meta;
}

export function collectionCreate(call: RestCall): RestResult {
  const { allOrNone, records: recs } = records(call);
  const ops = recs.map((rec) => (txn: Transaction) => createRecord(call.org, txn, typeOf(call, rec), rec));
  return collection(
    call,
    allOrNone,
    ops,
    recs.map(() => undefined),
  );
}

export function collectionUpdate(call: RestCall): RestResult {
  const { allOrNone, records: recs } = records(call);
  const ids = recs.map((rec) => {
    const raw = rec.id ?? rec.Id;
    return typeof raw === 'string' ? (normalizeId(raw) ?? raw) : undefined;
  });
  const ops = recs.map((rec, i) => (txn: Transaction) => {
    const meta = typeOf(call, rec);
    const id = ids[i];
    if (!id) throw sfError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', []);
    const row = normalizeId(id) ? call.org.store.get(id) : undefined;
    if (!row || row.object !== meta.name) throw sfError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    const { id: _lower, Id: _upper, ...fields } = rec;
    updateRecord(call.org, txn, meta, id, fields);
    return id;
  });
  return collection(call, allOrNone, ops, ids);
}

export function collectionDelete(call: RestCall): RestResult {
  const ids = (call.query.get('ids') ?? '').split(',').filter(Boolean);
  if (ids.length === 0) throw sfError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
  if (ids.length > MAX_COLLECTION) {
    throw sfError(400, 'EXCEEDED_ID_LIMIT', `record limit reached. cannot submit more than ${MAX_COLLECTION} records into this call`);
  }
  const allOrNone = call.query.get('allOrNone') === 'true';
  const norm = ids.map((raw) => normalizeId(raw) ?? raw);
  const ops = norm.map((id) => (txn: Transaction) => {
    const row = normalizeId(id) ? call.org.store.get(id) : undefined;
    if (!row) throw sfError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
    if (row.values.IsDeleted === true) throw sfError(400, 'ENTITY_IS_DELETED', 'entity is deleted', []);
    deleteRecord(call.org, txn, undefined, id);
    return id;
  });
  return collection(call, allOrNone, ops, norm);
}

export function collectionRetrieve(call: RestCall, type: string): RestResult {
  const meta = call.org.object(type);
  if (!meta) throw new SfApiError(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  const body = (call.body ?? {}) as { ids?: unknown; fields?: unknown };
  const ids = Array.isArray(body.ids) ? body.ids.map(String) : (call.query.get('ids') ?? '').split(',').filter(Boolean);
  const fieldList = Array.isArray(body.fields) ? body.fields.map(String) : (call.query.get('fields') ?? '').split(',').filter(Boolean);
  if (fieldList.length === 0) throw sfError(400, 'MISSING_ARGUMENT', 'fields parameter is required');
  const fields = fieldList.map((f) => {
    const fm = meta.byLower.get(f.toLowerCase());
    if (!fm)
      throw sfError(
        400,
        'INVALID_FIELD',
        `No such column '${f}' on entity '${meta.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    return fm.name;
  });
  const out = ids.map((raw) => {
    const id = normalizeId(raw);
    const row = id ? call.org.store.get(id) : undefined;
    if (!row || row.object !== meta.name || row.values.IsDeleted === true) return null;
    const rec = toRest(meta, row, call.version, fields);
    if (!fields.includes('Id')) rec.Id = row.id;
    return rec;
  });
  return { status: 200, body: out };
}

/** PATCH /composite/sobjects/T/Field: upsert each record; items carry `created`. */
export function collectionUpsert(call: RestCall, type: string, field: string): RestResult {
  const meta = call.org.object(type);
  if (!meta) throw new SfApiError(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
  const { allOrNone, records: recs } = records(call);
  const txn = call.txn ?? begin(call.org, changeOrigin(call.version, call.client));
  const results: Item[] = [];
  let failed = false;
  for (const rec of recs) {
    try {
      const key = Object.keys(rec).find((k) => k.toLowerCase() === field.toLowerCase());
      const value = key ? rec[key] : undefined;
      const { attributes: _a, ...body } = rec;
      const r =
        value == null
          ? {
              status: 201,
              body: {
                id: createRecord(call.org, txn, meta, Object.fromEntries(Object.entries(body).filter(([k]) => k !== key))),
                success: true,
                errors: [],
                created: true,
              },
            }
          : upsert({ ...call, body, txn, version: '59.0' }, meta, field, String(value));
      if (r.status === 300) throw sfError(300, 'DUPLICATE_EXTERNAL_ID', `${field}: more than one record found for external id field: ${String(value)}`, []);
      results.push(r.body as Item);
    } catch (err) {
      if (!(err instanceof SfApiError)) throw err;
      failed = true;
      results.push({ success: false, errors: itemErrors(err), created: false });
    }
  }
  if (failed && allOrNone) {
    if (!call.txn) txn.rollback();
    for (const r of results) if (r.success === true) Object.assign(r, { success: false, errors: [ROLLED_BACK] });
  } else if (!call.txn) {
    commit(call.org, txn);
  }
  return { status: 200, body: results };
}
