/**
 * Change events as Salesforce delivers them over CometD:
 * CREATE/UNDELETE carry every non-empty stored field, UPDATE only the changed
 * ones plus LastModifiedDate, DELETE the header alone; compounds travel as
 * nested objects and appear in `changedFields` as `BillingAddress.City`.
 * There are no nulledFields/diffFields over CometD.
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
      const nested = (fields[compound.name] ??= {}) as Record<string, unknown>;
      nested[comp.cdcKey] = cdcValue(meta, f.name, value);
      changed.push(`${compound.name}.${comp.cdcKey}`);
      continue;
    }
    if (!inChangeEvents(meta, f)) continue;
    fields[f.name] = cdcValue(meta, f.name, value);
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

/**
 * The events of a committed transaction, merged where Salesforce merges them:
 * the same change (same type, fields and values) to several records of one
 * entity becomes one event listing every recordId.
 */
export function buildChangeEvents(txn: Transaction, valuesOf: (id: string) => Values | undefined, selected: (meta: ObjectMeta) => boolean): ChangeEventOut[] {
  const groups = new Map<string, { change: Change; ids: string[]; fields: Record<string, unknown>; changedFields: string[] }>();
  for (const change of txn.changes) {
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
  for (const g of groups.values()) {
    const header = {
      entityName: g.change.meta.name,
      recordIds: g.ids,
      changeType: g.change.type,
      changeOrigin: txn.origin,
      transactionKey: txn.key,
      sequenceNumber: ++sequenceNumber,
      commitTimestamp: txn.commitTimestamp,
      commitNumber: nextCommitNumber(txn.commitTimestamp),
      commitUser: txn.userId,
      changedFields: g.changedFields,
    };
    out.push({ channel: `/data/${g.change.meta.changeEventName}`, payload: { ChangeEventHeader: header, ...g.fields }, meta: g.change.meta });
  }
  return out;
}
