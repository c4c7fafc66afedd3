/**
 * A Pub/Sub API change event turned into the message CometD delivers for the same change, so that
 * normalizing, detecting and event ids are one implementation for both transports:
 * `{schema, payload, event: {replayId}}` with the payload's record fields as CometD sends them (only
 * fields the event carries: unchanged fields, null over Pub/Sub, are left out; fields set to null stay
 * as null), compound fields as nested objects, date-times as ISO strings, and the ChangeEventHeader's
 * bitmaps decoded to field names (`Name`, `BillingAddress.City`).
 */
import avro from 'avsc';

interface AvroField {
  name: string;
  type: unknown;
  doc?: string;
}

/**
 * Salesforce's `long` fields (commitTimestamp, commitNumber, date-times) are 64-bit; JavaScript
 * numbers hold 53 bits. Values that fit stay numbers, larger ones become decimal strings instead of
 * silently losing digits.
 */
const LongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const v = buf.readBigInt64LE();
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  },
  toBuffer: (n: number | string) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v: unknown) => v,
  toJSON: (v: unknown) => v,
  isValid: (v: unknown) => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?\d+$/.test(v)),
  compare: (a: number | string, b: number | string) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },
});

export interface DecodingSchema {
  id: string;
  type: avro.Type;
  fields: AvroField[];
  /** Compound field position → its components, in schema order. */
  children: Map<number, AvroField[]>;
}

function recordFieldsOf(type: unknown, named: Map<string, AvroField[]>, namespace: string | undefined): AvroField[] | undefined {
  const branches = Array.isArray(type) ? type : [type];
  for (const b of branches) {
    if (b && typeof b === 'object' && (b as { type?: string }).type === 'record') {
      const rec = b as { name?: string; namespace?: string; fields: AvroField[] };
      if (rec.name) {
        const ns = rec.namespace ?? namespace;
        named.set(rec.name, rec.fields);
        if (ns) named.set(`${ns}.${rec.name}`, rec.fields);
      }
      return rec.fields;
    }
    if (typeof b === 'string' && named.has(b)) return named.get(b);
  }
  return undefined;
}

export function decodingSchema(id: string, schemaJson: string): DecodingSchema {
  const schema = JSON.parse(schemaJson) as { fields?: AvroField[]; namespace?: string };
  const fields = schema.fields ?? [];
  const named = new Map<string, AvroField[]>();
  const children = new Map<number, AvroField[]>();
  fields.forEach((f, i) => {
    if (f.name === 'ChangeEventHeader') return;
    const nested = recordFieldsOf(f.type, named, schema.namespace);
    if (nested) children.set(i, nested);
  });
  const type = avro.Type.forSchema(schema as avro.Schema, { registry: { long: LongType as unknown as avro.Type } });
  return { id, type, fields, children };
}

/** Positions of the set bits of `0x…` (bit 0 = the schema's first field). */
export function bitPositions(hex: string): number[] {
  const out: number[] = [];
  let n = BigInt(hex.startsWith('0x') || hex.startsWith('0X') ? hex : `0x${hex}`);
  for (let i = 0; n > 0n; i++, n >>= 1n) if (n & 1n) out.push(i);
  return out;
}

/** Salesforce's bitmap list (`['0x…', '<pos>-0x…']`) to field names; entries that are already names pass through. */
export function fieldNames(s: DecodingSchema, bitmaps: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of bitmaps) {
    const dash = entry.indexOf('-');
    if (entry.startsWith('0x') || entry.startsWith('0X')) {
      for (const i of bitPositions(entry)) {
        const f = s.fields[i];
        if (f) out.push(f.name);
      }
    } else if (dash > 0 && /^\d+$/.test(entry.slice(0, dash))) {
      const parent = s.fields[Number(entry.slice(0, dash))];
      const children = s.children.get(Number(entry.slice(0, dash)));
      if (!parent || !children) continue;
      for (const j of bitPositions(entry.slice(dash + 1))) {
        const c = children[j];
        if (c) out.push(`${parent.name}.${c.name}`);
      }
    } else {
      out.push(entry);
    }
  }
  return out;
}

const DAY_MS = 86_400_000;

function plain(value: unknown, field: AvroField): unknown {
  if (typeof value === 'number' && field.doc === 'Data:DateTime') return new Date(value).toISOString();
  if (typeof value === 'number' && field.doc === 'Data:Date') return new Date(Math.floor(value / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
  return value;
}

export interface CometdShaped {
  schema: string;
  payload: Record<string, unknown>;
  event: { replayId: number | string };
}

export function toCometdShape(s: DecodingSchema, payload: Buffer, replayId: string): CometdShaped {
  const decoded = s.type.fromBuffer(payload) as Record<string, unknown>;
  const rawHeader = (decoded['ChangeEventHeader'] ?? {}) as Record<string, unknown>;
  const list = (k: string): string[] => (Array.isArray(rawHeader[k]) ? fieldNames(s, rawHeader[k] as string[]) : []);
  const changedFields = list('changedFields');
  const nulled = new Set(list('nulledFields'));
  // CometD has no nulledFields/diffFields: the nulls travel as null values, as they do there.
  const { nulledFields: _n, diffFields: _d, ...rest } = rawHeader;
  const header: Record<string, unknown> = { ...rest, changedFields };
  const out: Record<string, unknown> = { ChangeEventHeader: header };
  s.fields.forEach((f, i) => {
    if (f.name === 'ChangeEventHeader') return;
    const value = decoded[f.name];
    const children = s.children.get(i);
    if (children) {
      if (value === null || typeof value !== 'object') {
        if (nulled.has(f.name)) out[f.name] = null;
        return;
      }
      const nested: Record<string, unknown> = {};
      for (const c of children) {
        const v = (value as Record<string, unknown>)[c.name];
        if (v !== null && v !== undefined) nested[c.name] = plain(v, c);
        else if (nulled.has(`${f.name}.${c.name}`)) nested[c.name] = null;
      }
      if (Object.keys(nested).length > 0) out[f.name] = nested;
      return;
    }
    if (value !== null && value !== undefined) out[f.name] = plain(value, f);
    else if (nulled.has(f.name)) out[f.name] = null;
  });
  // A number where exact, as CometD's JSON carries it.
  const n = Number(replayId);
  return { schema: s.id, payload: out, event: { replayId: /^\d+$/.test(replayId) && Number.isSafeInteger(n) ? n : replayId } };
}
