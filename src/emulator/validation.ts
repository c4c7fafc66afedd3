/**
 * Turns a REST write body into stored values, or into the error Salesforce
 * gives for it. Checks run in Salesforce's order: unknown fields (parse
 * level), then fields the user may not write, then values, then required
 * fields; the first failure wins.
 */
import { parseDateTime, sfDate, sfDateTime } from './clock.js';
import { normalizeId, keyPrefixOf } from './ids.js';
import type { FieldMeta, ObjectMeta } from './metadata/objects.js';
import { errors, sfError, SfApiError } from './sf-errors.js';
import type { Row, Values } from './store.js';

export interface WriteContext {
  lookup(id: string): Row | undefined;
  objectForPrefix(prefix: string): ObjectMeta | undefined;
}

const STRINGISH = new Set(['string', 'textarea', 'email', 'phone', 'url', 'picklist', 'multipicklist', 'combobox', 'encryptedstring']);
const NUMERIC = new Set(['double', 'currency', 'percent', 'int']);
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function jsonToken(v: unknown): string {
  if (typeof v === 'string') return 'VALUE_STRING';
  if (typeof v === 'boolean') return v ? 'VALUE_TRUE' : 'VALUE_FALSE';
  if (typeof v === 'number') return Number.isInteger(v) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  if (Array.isArray(v)) return 'START_ARRAY';
  return 'START_OBJECT';
}

/** Jackson's wording, as Salesforce passes it through; the column is where the value starts in compact JSON. */
function parserError(body: Record<string, unknown>, key: string, javaType: string, value: unknown): SfApiError {
  const json = JSON.stringify(body);
  const at = json.indexOf(`${JSON.stringify(key)}:`);
  const column = at < 0 ? 1 : at + JSON.stringify(key).length + 2;
  const shown = typeof value === 'object' ? '' : ` value ${String(value)}`;
  return errors.jsonParser(
    `Cannot deserialize instance of ${javaType} from ${jsonToken(value)}${shown} or request may be missing a required field at [line:1, column:${column}]`,
  );
}

function coerceValue(f: FieldMeta, value: unknown, body: Record<string, unknown>, key: string, ctx: WriteContext): unknown {
  if (value === null || value === undefined) return null;
  const t = f.type;
  if (STRINGISH.has(t)) {
    if (typeof value === 'object') throw parserError(body, key, 'string', value);
    const s = String(value);
    if (s === '') return null;
    if (f.length > 0 && s.length > f.length) {
      throw sfError(400, 'STRING_TOO_LONG', `${f.label}: data value too large: ${s} (max length=${f.length})`, [f.name]);
    }
    if (t === 'email' && !EMAIL_RE.test(s)) {
      throw sfError(400, 'INVALID_EMAIL_ADDRESS', `${f.label}: invalid email address: ${s}`, [f.name]);
    }
    if (t === 'picklist' && f.restrictedPicklist && !f.picklistValues.some((p) => p.active && p.value === s)) {
      throw sfError(400, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', `${f.label}: bad value for restricted picklist field: ${s}`, [f.name]);
    }
    return s;
  }
  if (t === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw parserError(body, key, 'boolean', value);
  }
  if (NUMERIC.has(t)) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n)) throw parserError(body, key, t === 'int' ? 'int' : 'double', value);
    if (t === 'int' && !Number.isInteger(n)) throw parserError(body, key, 'int', value);
    return n;
  }
  if (t === 'date') {
    const ms = typeof value === 'string' ? (/^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : parseDateTime(value)) : undefined;
    if (ms === undefined || Number.isNaN(ms)) throw parserError(body, key, 'date', value);
    return sfDate(ms);
  }
  if (t === 'datetime') {
    const ms = typeof value === 'string' ? parseDateTime(value) : typeof value === 'number' ? value : undefined;
    if (ms === undefined) throw parserError(body, key, 'datetime', value);
    return sfDateTime(ms);
  }
  if (t === 'reference' || t === 'id') {
    if (typeof value !== 'string') throw parserError(body, key, 'String', value);
    if (value === '') return null;
    const id = normalizeId(value);
    if (!id) throw errors.malformedId(value, f.label, f.name);
    const target = ctx.objectForPrefix(keyPrefixOf(id));
    const emulatedTargets = f.referenceTo.filter((r) => r !== 'Group');
    if (target && !f.referenceTo.includes(target.name)) {
      throw sfError(400, 'FIELD_INTEGRITY_EXCEPTION', `${f.label}: id value of incorrect type: ${value}`, [f.name]);
    }
    if (target && emulatedTargets.includes(target.name)) {
      const row = ctx.lookup(id);
      if (!row) throw errors.invalidCrossReference();
      if (row.values.IsDeleted === true) throw sfError(400, 'ENTITY_IS_DELETED', 'entity is deleted', [f.name]);
    }
    return id;
  }
  // address/location compounds are read-only and rejected before we get here.
  return value;
}

export function coerceBody(meta: ObjectMeta, body: unknown, mode: 'create' | 'update', ctx: WriteContext): Values {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw errors.jsonParser(
      `Cannot deserialize instance of ${meta.name} from ${jsonToken(body)} value or request may be missing a required field at [line:1, column:1]`,
    );
  }
  const input = body as Record<string, unknown>;
  const pairs: Array<[FieldMeta, string, unknown]> = [];
  for (const [key, value] of Object.entries(input)) {
    if (key === 'attributes') continue;
    const f = meta.byLower.get(key.toLowerCase());
    if (!f) throw errors.invalidFieldWrite(key, meta.name);
    if (f.name === 'Id') {
      if (mode === 'create') throw sfError(400, 'INVALID_FIELD', 'Record ID: cannot specify Id in an insert call', ['Id']);
      continue;
    }
    pairs.push([f, key, value]);
  }
  const readOnly = pairs.filter(([f]) => (mode === 'create' ? !f.createable : !f.updateable)).map(([f]) => f.name);
  if (readOnly.length > 0) throw errors.notWritable(readOnly);
  const out: Values = {};
  for (const [f, key, value] of pairs) out[f.name] = coerceValue(f, value, input, key, ctx);
  return out;
}

/** Required = not nillable, writable, and nothing fills it in on create. */
export function missingRequired(meta: ObjectMeta, values: Values, mode: 'create' | 'update', touched: Values): string[] {
  const missing: string[] = [];
  for (const f of meta.fields) {
    if (f.nillable || f.type === 'boolean') continue;
    if (mode === 'create') {
      if (f.createable && !f.defaultedOnCreate && values[f.name] == null) missing.push(f.name);
    } else if (f.name in touched && touched[f.name] === null && f.updateable) {
      missing.push(f.name);
    }
  }
  return missing;
}
