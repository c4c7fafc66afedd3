/**
 * A change event as the event bus stores it (the CometD JSON shape) written as the Pub/Sub API
 * delivers it: Avro with the entity's schema, every field present (null unless the event carries
 * it), dates as epoch numbers, and `changedFields` / `nulledFields` / `diffFields` as bitmaps of
 * field positions in the schema: `0x…` for top-level fields, `<position>-0x…` for the components of
 * a compound field at that position.
 */
import avro from 'avsc';
import type { ChangeEventSchema } from './schema.js';

interface AvroField {
  name: string;
  type: unknown;
  doc?: string;
}

/** 64-bit longs: Salesforce's commitNumber can pass 2^53, so decimal strings and bigints are written exactly. */
const LongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => Number(buf.readBigInt64LE()),
  toBuffer: (v: number | string | bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(v));
    return buf;
  },
  fromJSON: (v: unknown) => v,
  toJSON: (v: unknown) => v,
  isValid: (v: unknown) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v)),
  compare: (a: number | string | bigint, b: number | string | bigint) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0),
});

const types = new Map<string, avro.Type>();
export function avroType(schema: ChangeEventSchema): avro.Type {
  let t = types.get(schema.id);
  if (!t) {
    t = avro.Type.forSchema(schema.schema as avro.Schema, { registry: { long: LongType as unknown as avro.Type } });
    types.set(schema.id, t);
  }
  return t;
}

/** Bits set at `positions`, as Salesforce writes them: `0x` and upper-case hex, whole bytes. */
export function bitmap(positions: number[]): string {
  let n = 0n;
  for (const p of positions) n |= 1n << BigInt(p);
  let hex = n.toString(16).toUpperCase();
  if (hex.length % 2) hex = `0${hex}`;
  return `0x${hex}`;
}

function nestedFields(field: AvroField): AvroField[] | undefined {
  const branches = Array.isArray(field.type) ? field.type : [field.type];
  const rec = branches.find((b) => typeof b === 'object' && b !== null && (b as { type?: string }).type === 'record') as { fields: AvroField[] } | undefined;
  return rec?.fields;
}

/** Field names (`Name`, `BillingAddress.City`) to bitmap strings against the schema's field order. */
export function encodeFieldList(fields: AvroField[], names: string[], namedRecords: Map<string, AvroField[]>): string[] {
  const top: number[] = [];
  const nested = new Map<number, number[]>();
  for (const name of names) {
    const dot = name.indexOf('.');
    const parent = dot < 0 ? name : name.slice(0, dot);
    const i = fields.findIndex((f) => f.name === parent);
    if (i < 0) continue;
    if (dot < 0) {
      top.push(i);
      continue;
    }
    const children = nestedFields(fields[i]!) ?? namedRecords.get(String((fields[i]!.type as unknown[])[1]));
    const j = children?.findIndex((c) => c.name === name.slice(dot + 1)) ?? -1;
    if (j < 0) continue;
    const list = nested.get(i) ?? [];
    list.push(j);
    nested.set(i, list);
  }
  const out: string[] = [];
  if (top.length > 0) out.push(bitmap(top));
  for (const [i, children] of [...nested].sort((a, b) => a[0] - b[0])) out.push(`${i}-${bitmap(children)}`);
  return out;
}

const DAY_MS = 86_400_000;

function scalar(value: unknown, field: AvroField): unknown {
  if (value === null || value === undefined) return null;
  const branches = Array.isArray(field.type) ? field.type : [field.type];
  const t = branches.find((b) => b !== 'null');
  if (t === 'long') {
    if (typeof value === 'number') return value;
    const ms = Date.parse(String(value));
    if (Number.isNaN(ms)) return null;
    // Date fields count whole days since the epoch; date-times milliseconds.
    return field.doc === 'Data:Date' ? Math.floor(ms / DAY_MS) * DAY_MS : ms;
  }
  if (t === 'int') return Math.trunc(Number(value));
  if (t === 'double') return Number(value);
  if (t === 'boolean') return Boolean(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function encodeChangeEvent(schema: ChangeEventSchema, payload: Record<string, unknown>): Buffer {
  const fields = (schema.schema.fields as AvroField[]) ?? [];
  const namedRecords = new Map<string, AvroField[]>();
  for (const f of fields) {
    const n = nestedFields(f);
    const rec = Array.isArray(f.type) ? (f.type[1] as { name?: string; namespace?: string }) : undefined;
    if (n && rec?.name) namedRecords.set(`${rec.namespace}.${rec.name}`, n);
  }
  const header = (payload['ChangeEventHeader'] ?? {}) as Record<string, unknown>;
  const changed = Array.isArray(header['changedFields']) ? (header['changedFields'] as string[]) : [];
  // The CometD body leaves a field set to null out (it is named in changedFields only); Pub/Sub names it
  // in nulledFields. A changed field without a value in the body is therefore a nulled one.
  const nulled = changed.filter((name) => {
    const dot = name.indexOf('.');
    if (dot < 0) return payload[name] === undefined || payload[name] === null;
    const parent = payload[name.slice(0, dot)] as Record<string, unknown> | null | undefined;
    return parent === undefined || parent === null || parent[name.slice(dot + 1)] === undefined || parent[name.slice(dot + 1)] === null;
  });
  const record: Record<string, unknown> = {
    ChangeEventHeader: {
      entityName: String(header['entityName'] ?? ''),
      recordIds: Array.isArray(header['recordIds']) ? header['recordIds'].map(String) : [],
      changeType: String(header['changeType'] ?? 'UPDATE'),
      changeOrigin: String(header['changeOrigin'] ?? ''),
      transactionKey: String(header['transactionKey'] ?? ''),
      sequenceNumber: Number(header['sequenceNumber'] ?? 0),
      commitTimestamp: Number(header['commitTimestamp'] ?? 0),
      commitNumber: typeof header['commitNumber'] === 'string' ? header['commitNumber'] : Number(header['commitNumber'] ?? 0),
      commitUser: String(header['commitUser'] ?? ''),
      nulledFields: encodeFieldList(fields, nulled, namedRecords),
      // The emulator never sends a field's value as a diff.
      diffFields: [],
      changedFields: encodeFieldList(fields, changed, namedRecords),
    },
  };
  for (const f of fields.slice(1)) {
    const value = payload[f.name];
    const children = nestedFields(f) ?? namedRecords.get(String((Array.isArray(f.type) ? f.type[1] : '') as string));
    if (children) {
      if (value === null || typeof value !== 'object') {
        record[f.name] = null;
        continue;
      }
      const nested: Record<string, unknown> = {};
      for (const c of children) nested[c.name] = scalar((value as Record<string, unknown>)[c.name], c);
      record[f.name] = nested;
      continue;
    }
    record[f.name] = scalar(value, f);
  }
  return avroType(schema).toBuffer(record);
}
