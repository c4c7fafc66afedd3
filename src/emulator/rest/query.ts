/**
 * query / queryAll with nextRecordsUrl paging, and the Tooling query the
 * service uses to read the CDC selection (PlatformEventChannelMember).
 */
import { newId, newLocatorId } from '../ids.js';
import { withFormulas, type FieldMeta, type ObjectMeta } from '../metadata/objects.js';
import type { Org, QueryCursor } from '../org.js';
import { errors, sfError } from '../sf-errors.js';
import { executeSoql, parseSoql, SoqlError, type SoqlDataSource, type SoqlFieldInfo, type SoqlFieldType, type SoqlObjectInfo } from '../soql/index.js';
import type { RestCall, RestResult } from './call.js';
import { assertNotTooComplicated } from './query-limits.js';

const SOQL_TYPES = new Set<string>([
  'id',
  'reference',
  'string',
  'textarea',
  'picklist',
  'multipicklist',
  'email',
  'phone',
  'url',
  'boolean',
  'int',
  'double',
  'currency',
  'percent',
  'date',
  'datetime',
  'address',
  'location',
]);

const fieldInfoCache = new WeakMap<ObjectMeta, SoqlFieldInfo[]>();

function fieldInfos(meta: ObjectMeta): SoqlFieldInfo[] {
  let infos = fieldInfoCache.get(meta);
  if (!infos) {
    infos = meta.fields.map((f: FieldMeta) => {
      const info: SoqlFieldInfo = { name: f.name, type: (SOQL_TYPES.has(f.type) ? f.type : 'string') as SoqlFieldType };
      if (f.referenceTo.length > 0) info.referenceTo = f.referenceTo;
      if (f.relationshipName) info.relationshipName = f.relationshipName;
      return info;
    });
    fieldInfoCache.set(meta, infos);
  }
  return infos;
}

/**
 * UserPermissionAccess: the querying user's effective system permissions, one row, readable by
 * any user. Only the permissions the emulator models are fields here.
 */
const UPA = 'UserPermissionAccess';
const UPA_FIELDS: SoqlFieldInfo[] = [
  { name: 'Id', type: 'id' },
  { name: 'PermissionsApiEnabled', type: 'boolean' },
  { name: 'PermissionsViewSetup', type: 'boolean' },
  { name: 'PermissionsViewAllData', type: 'boolean' },
];

function permissionRow(org: Org): Record<string, unknown> {
  return {
    Id: `000${org.user.id.slice(3)}`,
    PermissionsApiEnabled: true,
    PermissionsViewSetup: org.permissions.viewSetup,
    PermissionsViewAllData: org.permissions.viewAllData,
  };
}

export function soqlSource(org: Org): SoqlDataSource {
  return {
    describe(name: string): SoqlObjectInfo | undefined {
      if (name.toLowerCase() === UPA.toLowerCase()) return { name: UPA, fields: UPA_FIELDS };
      const meta = org.object(name);
      if (!meta) return undefined;
      const childRelationships = org
        .childRelationships(meta)
        .filter((c) => typeof c.relationshipName === 'string')
        .map((c) => ({ relationshipName: c.relationshipName as string, childSObject: c.childSObject as string, field: c.field as string }));
      return { name: meta.name, fields: fieldInfos(meta), childRelationships };
    },
    *rows(object: string, opts: { includeDeleted: boolean }) {
      if (object === UPA) {
        yield permissionRow(org);
        return;
      }
      const meta = org.object(object);
      for (const row of org.store.table(object).values()) {
        if (!opts.includeDeleted && row.values.IsDeleted === true) continue;
        yield meta ? withFormulas(meta, row.values) : row.values;
      }
    },
    byId(id: string) {
      const row = org.store.get(id);
      return row ? { object: row.object, row: row.values } : undefined;
    },
    now: () => org.clock.date(),
  };
}

const CURSOR_IDLE_MS = 15 * 60 * 1000;
const MAX_CURSORS = 100;
const DEFAULT_BATCH = 2000;

/** `Sforce-Query-Options: batchSize=N`, which Salesforce honours between 200 and 2000. */
function batchSize(call: RestCall): number {
  const m = /batchSize\s*=\s*(\d+)/i.exec(call.header('sforce-query-options') ?? '');
  if (!m) return DEFAULT_BATCH;
  return Math.min(DEFAULT_BATCH, Math.max(200, Number(m[1])));
}

function sweepCursors(org: Org, now: number): void {
  for (const [id, c] of org.cursors) if (now - c.lastUsed > CURSOR_IDLE_MS) org.cursors.delete(id);
  while (org.cursors.size >= MAX_CURSORS) org.cursors.delete(org.cursors.keys().next().value!);
}

function page(call: RestCall, cursorId: string, c: QueryCursor): RestResult {
  const end = Math.min(c.position + c.batchSize, c.records.length);
  const records = c.records.slice(c.position, end);
  c.position = end;
  c.lastUsed = call.org.clock.now();
  const done = end >= c.records.length;
  if (done) {
    call.org.cursors.delete(cursorId);
    return { status: 200, body: { totalSize: c.totalSize, done: true, records } };
  }
  const nextRecordsUrl = `/services/data/v${call.version}/${c.scanAll ? 'queryAll' : 'query'}/${cursorId}-${end}`;
  return { status: 200, body: { totalSize: c.totalSize, done: false, nextRecordsUrl, records } };
}

function soqlError(err: unknown): never {
  if (err instanceof SoqlError) throw sfError(400, err.errorCode, err.message);
  throw err;
}

export function runQuery(call: RestCall, scanAll: boolean): RestResult {
  const text = call.query.get('q');
  if (!text) throw sfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  const source = soqlSource(call.org);
  let result;
  try {
    const parsed = parseSoql(text, source);
    assertNotTooComplicated(text, parsed, call.org.object(parsed.object));
    result = executeSoql(parsed, source, { apiVersion: call.version, includeDeleted: scanAll });
  } catch (err) {
    soqlError(err);
  }
  const size = batchSize(call);
  if (result.records.length <= size) {
    return { status: 200, body: { totalSize: result.totalSize, done: true, records: result.records } };
  }
  const now = call.org.clock.now();
  sweepCursors(call.org, now);
  const cursorId = newLocatorId();
  const cursor: QueryCursor = { records: result.records, totalSize: result.totalSize, position: 0, batchSize: size, lastUsed: now, scanAll };
  call.org.cursors.set(cursorId, cursor);
  return page(call, cursorId, cursor);
}

export function queryMore(call: RestCall, locator: string): RestResult {
  const m = /^([a-zA-Z0-9]{15,18})-(\d+)$/.exec(locator);
  const cursor = m ? call.org.cursors.get(m[1]!) : undefined;
  if (!m || !cursor || call.org.clock.now() - cursor.lastUsed > CURSOR_IDLE_MS) {
    throw sfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
  }
  cursor.position = Math.min(Number(m[2]), cursor.records.length);
  return page(call, m[1]!, cursor);
}

// ---------------------------------------------------------------------------
// Tooling API: the CDC selection as PlatformEventChannelMember rows.

const PECM = 'PlatformEventChannelMember';
const PECM_FIELDS: SoqlFieldInfo[] = [
  { name: 'Id', type: 'id' },
  { name: 'IsDeleted', type: 'boolean' },
  { name: 'DeveloperName', type: 'string' },
  { name: 'MasterLabel', type: 'string' },
  { name: 'FullName', type: 'string' },
  { name: 'EventChannel', type: 'string' },
  { name: 'SelectedEntity', type: 'string' },
  { name: 'CreatedDate', type: 'datetime' },
  { name: 'LastModifiedDate', type: 'datetime' },
];
const memberIds = new WeakMap<Org, Map<string, string>>();

function memberRows(org: Org): Array<Record<string, unknown>> {
  let ids = memberIds.get(org);
  if (!ids) {
    ids = new Map();
    memberIds.set(org, ids);
  }
  const created = new Date(org.createdAt).toISOString().replace('Z', '+0000');
  return org.selectedEntities().map((meta) => {
    let id = ids.get(meta.name);
    if (!id) {
      id = newId('0v8');
      ids.set(meta.name, id);
    }
    const developerName = `ChangeEvents_${meta.changeEventName}`;
    return {
      Id: id,
      IsDeleted: false,
      DeveloperName: developerName,
      MasterLabel: developerName,
      FullName: developerName,
      EventChannel: 'ChangeEvents',
      SelectedEntity: meta.changeEventName,
      CreatedDate: created,
      LastModifiedDate: created,
    };
  });
}

function toolingSource(org: Org): SoqlDataSource {
  return {
    describe: (name) => (name.toLowerCase() === PECM.toLowerCase() ? { name: PECM, fields: PECM_FIELDS } : undefined),
    rows: () => memberRows(org),
    byId: () => undefined,
    now: () => org.clock.date(),
  };
}

export function toolingQuery(call: RestCall): RestResult {
  const text = call.query.get('q');
  if (!text) throw sfError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  // Without View Setup and Configuration the object is not there for this user: Salesforce answers
  // a Tooling query of a setup object the user may not see as of an unknown type.
  if (!call.org.permissions.viewSetup && /\bfrom\s+platformeventchannelmember\b/i.test(text)) {
    throw sfError(400, 'INVALID_TYPE', `sObject type '${PECM}' is not supported.`);
  }
  const source = toolingSource(call.org);
  let result;
  try {
    result = executeSoql(parseSoql(text, source), source, { apiVersion: call.version, includeDeleted: false });
  } catch (err) {
    soqlError(err);
  }
  const records = result.records.map((r) => {
    const attrs = r.attributes as { type: string; url: string } | undefined;
    return attrs ? { ...r, attributes: { ...attrs, url: attrs.url.replace('/sobjects/', '/tooling/sobjects/') } } : r;
  });
  return {
    status: 200,
    body: {
      size: result.totalSize,
      totalSize: result.totalSize,
      done: true,
      queryLocator: null,
      entityTypeName: records.length > 0 ? PECM : null,
      records,
    },
  };
}

/** Tooling create of a PlatformEventChannelMember selects an entity for ChangeEvents. */
export function toolingCreateMember(call: RestCall): RestResult {
  const body = call.body as { FullName?: unknown; Metadata?: { eventChannel?: unknown; selectedEntity?: unknown } } | null;
  const entity = body?.Metadata?.selectedEntity;
  if (typeof entity !== 'string' || body?.Metadata?.eventChannel !== 'ChangeEvents') {
    throw sfError(400, 'FIELD_INTEGRITY_EXCEPTION', 'Metadata.selectedEntity and Metadata.eventChannel=ChangeEvents are required', []);
  }
  const org = call.org;
  const meta = org.resolveEntity(entity);
  if (!meta) throw sfError(400, 'FIELD_INTEGRITY_EXCEPTION', `Selected Entity: invalid value: ${entity}`, ['SelectedEntity']);
  if (org.cdcEntities !== null) org.cdcEntities.add(meta.name);
  const row = memberRows(org).find((r) => r.SelectedEntity === meta.changeEventName);
  return { status: 201, body: { id: row?.Id ?? null, success: true, errors: [], warnings: [], infos: [] } };
}

export function toolingDeleteMember(call: RestCall, id: string): RestResult {
  const org = call.org;
  const row = memberRows(org).find((r) => r.Id === id);
  if (!row) throw errors.notFound();
  const remaining = org
    .selectedEntities()
    .filter((m) => m.changeEventName !== row.SelectedEntity)
    .map((m) => m.name);
  org.setCdcEntities(remaining);
  return { status: 204 };
}
