/**
 * Which fields polling selects, from an object's describe. Polled events should carry the record as CDC's
 * CREATE does (every field), and snapshot diffs need the same fields every time.
 * Compound fields (address, location) are skipped: their components are selected on their own and
 * normalize drops the nested objects anyway; base64 is skipped because blobs do not belong in events.
 */
import { LRUCache } from 'lru-cache';
import { ForcehookError } from '../core/errors.js';
import { planFieldChunks, type PlanField } from './field-plan.js';

export interface ObjectFields {
  /** The canonical API name from the describe (`Invoice__c` even when asked for `invoice__c`). */
  object: string;
  fields: string[];
  /** getDeleted only works on replicateable objects. */
  replicateable: boolean;
  /** The describe's fields not selected (compound, base64): still names a subscription may filter on. */
  unselected: string[];
  /**
   * `fields` split for wide objects (field-plan.ts): one query per chunk, joined by Id. A narrow object
   * has one chunk, `fields` itself.
   */
  chunks: string[][];
  /** Formula fields: change events never carry them, so a polled change does not list them as changed. */
  calculated: string[];
}

const SKIPPED_TYPES = new Set(['address', 'location', 'base64']);
/** Cursor and classification need these; everything else is payload. */
const REQUIRED = ['Id', 'SystemModstamp'];
const WANTED_FIRST = ['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'];

export function fieldsFromDescribe(describe: unknown): ObjectFields {
  const d = describe as { name?: unknown; fields?: unknown; replicateable?: unknown } | null;
  if (!d || typeof d.name !== 'string' || !Array.isArray(d.fields)) {
    throw new ForcehookError('SALESFORCE', 'describe: unexpected response shape');
  }
  const names: string[] = [];
  const unselected: string[] = [];
  const info = new Map<string, PlanField>();
  for (const f of d.fields as Array<{ name?: unknown; type?: unknown; calculated?: unknown }>) {
    if (typeof f?.name !== 'string') continue;
    if (typeof f.type === 'string' && SKIPPED_TYPES.has(f.type)) unselected.push(f.name);
    else names.push(f.name);
    info.set(f.name, { name: f.name, ...(typeof f.type === 'string' ? { type: f.type } : {}), calculated: f.calculated === true });
  }
  for (const r of REQUIRED) {
    if (!names.includes(r)) throw new ForcehookError('SALESFORCE', `${d.name} has no ${r}: it cannot be polled`);
  }
  const first = WANTED_FIRST.filter((n) => names.includes(n));
  const rest = names.filter((n) => !first.includes(n));
  const fields = [...first, ...rest];
  return {
    object: d.name,
    fields,
    replicateable: d.replicateable !== false,
    unselected,
    chunks: planFieldChunks(
      fields.map((n) => info.get(n)!),
      undefined,
      first,
    ),
    calculated: fields.filter((n) => info.get(n)!.calculated === true),
  };
}

/**
 * Describes change rarely and cost an API call each: one process-wide cache shared by every org's
 * poller, reconcile and GAP fetches. An INVALID_FIELD answer evicts the entry (a field was deleted).
 */
export const describeCache = new LRUCache<string, ObjectFields>({ max: 20_000, ttl: 6 * 3600 * 1000 });

export const describeKey = (orgId: string, object: string): string => `${orgId}:${object.toLowerCase()}`;
