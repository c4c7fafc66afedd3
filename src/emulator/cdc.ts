/**
 * Change events as Salesforce delivers them over CometD:
 * CREATE/UNDELETE carry every non-empty stored field, UPDATE only the changed
 * ones plus LastModifiedDate, DELETE the header alone; compounds travel as
 * nested objects and appear in `changedFields` as `BillingAddress.City`.
 * Null fields are left out of every body, a field set to null included: it is
 * named in `changedFields` only. There are no nulledFields/diffFields over CometD.
 */
import { inChangeEvents, type ObjectMeta } from './metadata/objects.js';
import type { Values } from './store.js';
import type { Change, Transaction } from './transaction.js';

export interface ChangeEventOut {
  channel: string;
  payload: Record<string, unknown>;
  /** The entity, whose change event schema the event is written with. */
  meta: ObjectMeta;
}

let lastCommitNumber = 0;
/** System change numbers grow with time; kept below 2^53 so JSON clients read them exactly. */
function nextCommitNumber(ts: number): number {
  lastCommitNumber = Math.max(lastCommitNumber + 1, ts * 1000);
  return lastCommitNumber;
}

function cdcValue(meta: ObjectMeta, field: string, value: unknown): unknown {
  if (typeof value === 'string' && meta.byLower.get(field.toLowerCase())?.type === 'datetime') {
    return value.replace(/\+0000$/, 'Z');
  }
  return value;
}

function body(meta: ObjectMeta, values: Values, only?: Set<string>): { fields: Record<string, unknown>; changed: string[] } {
  const fields: Record<string, unknown> = {};
  const changed: string[] = [];
  for (const f of meta.fields) {
    if (only && !only.has(f.name)) continue;
    const value = values[f.name] ?? null;
    if (!only && value === null) continue;
    const compound = meta.compoundOf.get(f.name);
    if (compound) {
      const comp = compound.components.find((c) => c.field === f.name)!;
      if (value !== null) ((fields[compound.name] ??= {}) as Record<string, unknown>)[comp.cdcKey] = cdcValue(meta, f.name, value);
      changed.push(`${compound.name}.${comp.cdcKey}`);
      continue;
    }
    if (!inChangeEvents(meta, f)) continue;
    if (value !== null) fields[f.name] = cdcValue(meta, f.name, value);
    changed.push(f.name);
  }
  return { fields, changed };
}

function eventBody(change: Change, values: Values | undefined): { fields: Record<string, unknown>; changedFields: string[] } | undefined {
  switch (change.type) {
    case 'DELETE':
      return { fields: {}, changedFields: [] };
    case 'CREATE':
    case 'UNDELETE': {
      if (!values) return undefined;
      return { fields: body(change.meta, values).fields, changedFields: [] };
    }
    case 'UPDATE': {
      if (!values) return undefined;
      const only = new Set(change.changed);
      only.add('LastModifiedDate');
      const b = body(change.meta, values, only);
      return { fields: b.fields, changedFields: b.changed };
    }
  }
}

/** Salesforce's maximum event message size: a change event larger than this becomes a gap event. */
export const MAX_EVENT_BYTES = 1_048_576;
/** The record id an overflow event carries: it names no record. */
export const OVERFLOW_RECORD_ID = '000000000000000AAA';

/** Stamped on every write: not field changes of the user's. */
const AUDIT_FIELDS = new Set(['LastModifiedDate', 'LastModifiedById', 'SystemModstamp']);

/**
 * What a change counts toward the overflow threshold: a creation, deletion or undeletion one, an update
 * one per changed field ("each field change counts toward the overflow threshold"), audit fields aside.
 */
function weight(change: Change): number {
  if (change.type !== 'UPDATE') return 1;
  let n = 0;
  for (const f of change.changed) if (!AUDIT_FIELDS.has(f)) n++;
  return Math.max(1, n);
}

/** A change event past the maximum size keeps its header, as a gap event, and loses its body. */
function sized(payload: Record<string, unknown>): Record<string, unknown> {
  if (Buffer.byteLength(JSON.stringify(payload), 'utf8') <= MAX_EVENT_BYTES) return payload;
  const header = payload['ChangeEventHeader'] as Record<string, unknown>;
  return { ChangeEventHeader: { ...header, changeType: `GAP_${String(header['changeType'])}`, changedFields: [] } };
}

/**
 * The events of a committed transaction, merged where Salesforce merges them:
 * the same change (same type, fields and values) to several records of one
 * entity becomes one event listing every recordId. The changes past
 * `overflowThreshold` make no change events: one GAP_OVERFLOW per entity among
 * them instead. An event larger than 1 MB goes out as its GAP_ twin.
 * `pastThreshold`: the change events the changes past the threshold would have made, and nothing else (no
 * subscriber receives them; an in-process observer counting every change does).
 */
export function buildChangeEvents(
  txn: Transaction,
  valuesOf: (id: string) => Values | undefined,
  selected: (meta: ObjectMeta) => boolean,
  overflowThreshold = Number.POSITIVE_INFINITY,
  pastThreshold = false,
): ChangeEventOut[] {
  const groups = new Map<string, { change: Change; ids: string[]; fields: Record<string, unknown>; changedFields: string[] }>();
  const overflowed = new Map<string, ObjectMeta>();
  let counted = 0;
  for (const change of txn.changes) {
    counted += weight(change);
    if (counted > overflowThreshold !== pastThreshold) {
      if (!pastThreshold && selected(change.meta)) overflowed.set(change.meta.name, change.meta);
      continue;
    }
    if (!selected(change.meta)) continue;
    const b = eventBody(change, valuesOf(change.id));
    if (!b) continue;
    const key = `${change.meta.name}\u0000${change.type}\u0000${JSON.stringify(b.changedFields)}\u0000${JSON.stringify(b.fields)}`;
    const g = groups.get(key);
    if (g) g.ids.push(change.id);
    else groups.set(key, { change, ids: [change.id], ...b });
  }
  const out: ChangeEventOut[] = [];
  let sequenceNumber = 0;
  const header = (meta: ObjectMeta, recordIds: string[], changeType: string, changedFields: string[]) => ({
    entityName: meta.name,
    recordIds,
    changeType,
    changeOrigin: txn.origin,
    transactionKey: txn.key,
    sequenceNumber: ++sequenceNumber,
    commitTimestamp: txn.commitTimestamp,
    commitNumber: nextCommitNumber(txn.commitTimestamp),
    commitUser: txn.userId,
    changedFields,
  });
  for (const g of groups.values()) {
    const payload = { ChangeEventHeader: header(g.change.meta, g.ids, g.change.type, g.changedFields), ...g.fields };
    out.push({ channel: `/data/${g.change.meta.changeEventName}`, payload: sized(payload), meta: g.change.meta });
  }
  for (const meta of overflowed.values()) {
    out.push({ channel: `/data/${meta.changeEventName}`, payload: { ChangeEventHeader: header(meta, [OVERFLOW_RECORD_ID], 'GAP_OVERFLOW', []) }, meta });
  }
  return out;
}
