/**
 * Polled REST row -> RawChange. Polling sees states, not changes, so the change is inferred:
 * - CREATE when the row still shows its creation: CreatedDate == SystemModstamp (even when a snapshot
 *   exists: an overlap window re-reads rows, and the re-read must not become an UPDATE), or,
 *   with no snapshot of the record, CreatedDate == LastModifiedDate (a later system-only bump of
 *   SystemModstamp, e.g. a roll-up recalculation, does not turn a new record into an update).
 *   Otherwise UPDATE; also `kind: 'updated'`, which the caller passes for a second version of a row
 *   within one stamp (stamps are whole seconds: a record updated in the second it was created still
 *   shows CreatedDate == SystemModstamp).
 * - changedFields by comparison with the previous snapshot (bounded memory is the caller's business);
 *   without one they are unknown (`changedFieldsUnknown`, the list empty) while `record` carries every value read.
 * - The commit timestamp is what the id recipe (events/id.ts) expects: SystemModstamp, CreatedDate for
 *   a creation recognised through LastModifiedDate, deletedDate (getDeleted) or the deleted row's
 *   SystemModstamp for deletions.
 * Rows come from our own REST calls, so a malformed one is a bug or an API change: it throws a
 * ValidationError instead of producing an event with invented values.
 */
import { ValidationError } from '../core/errors.js';
import type { ChangeType, DetectedBy } from '../events/schema.js';
import { toId18 } from '../events/salesforce-id.js';
import { isPlainObject, toChangeEventName } from './compound.js';
import type { RawChange } from './raw-change.js';
import { withCanonicalDateTimes } from './datetime.js';

export interface PolledRowInput {
  object: string;
  /** A REST/SOQL record: Id, CreatedDate, SystemModstamp, LastModifiedDate, IsDeleted?, fields... */
  row: Record<string, unknown>;
  /** The last values seen for this record (a previous `record`), when known. */
  previous?: Record<string, unknown>;
  kind?: 'deleted' | 'undeleted' | 'updated';
  /** getDeleted's `deletedDate` for this record. */
  deletedDate?: string | number;
  /**
   * Formula fields of the object: kept in `record`, never listed in `changedFields`, as change events
   * never carry them (their value is derived, not stored).
   */
  derived?: readonly string[];
  detectedBy: Extract<DetectedBy, 'polling' | 'reconcile'>;
}

/** Fields that say nothing about what the user changed, or that CDC never lists. */
const NOT_COMPARED = new Set(['attributes', 'Id', 'SystemModstamp', 'IsDeleted']);

const SF_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Epoch ms of a REST datetime (`2019-03-07T21:58:32.000+0000`) or epoch number; undefined if absent/bad. */
export function parseSalesforceDate(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !SF_DATETIME.test(value)) return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

/** The values a polled record carries: scalar fields only (`attributes`, compound and relationship objects dropped). */
function recordOf(row: Record<string, unknown>, id18: string): Record<string, unknown> {
  const entries = Object.entries(row).filter(([k, v]) => k !== 'attributes' && !isPlainObject(v));
  return withCanonicalDateTimes(Object.fromEntries([...entries, ['Id', id18]]));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // REST may render one datetime differently across API versions; equal instants are unchanged.
    const da = parseSalesforceDate(a);
    return da !== undefined && typeof a === 'string' && da === parseSalesforceDate(b);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

export function diffFields(object: string, record: Record<string, unknown>, previous: Record<string, unknown>, derived: readonly string[] = []): string[] {
  const keys = new Set([...Object.keys(record), ...Object.keys(previous)]);
  const changed: string[] = [];
  for (const key of keys) {
    if (NOT_COMPARED.has(key) || derived.includes(key) || isPlainObject(record[key]) || isPlainObject(previous[key])) continue;
    // A key missing on one side was not selected there: not evidence of a change.
    if (!(key in record) || !(key in previous)) continue;
    if (!sameValue(record[key], previous[key])) changed.push(toChangeEventName(object, key));
  }
  return changed;
}

function required(ms: number | undefined, what: string, input: PolledRowInput): number {
  if (ms === undefined) throw new ValidationError(`polled ${input.object} row: ${what} missing or not a datetime`);
  return ms;
}

export function normalizePolledRow(input: PolledRowInput): RawChange {
  const { object, row, previous } = input;
  const rawId = row['Id'];
  const recordId = typeof rawId === 'string' ? toId18(rawId) : undefined;
  if (recordId === undefined) throw new ValidationError(`polled ${object} row: Id missing or not a Salesforce id`);
  const record = recordOf(row, recordId);
  const modstamp = parseSalesforceDate(row['SystemModstamp']);

  let changeType: ChangeType;
  let commitTimestamp: number;
  let changedFields: string[] = [];
  let unknown = false;
  if (input.kind === 'deleted' || row['IsDeleted'] === true) {
    changeType = 'DELETE';
    commitTimestamp = required(parseSalesforceDate(input.deletedDate) ?? modstamp, 'deletedDate/SystemModstamp', input);
  } else if (input.kind === 'undeleted') {
    changeType = 'UNDELETE';
    commitTimestamp = required(modstamp, 'SystemModstamp', input);
  } else {
    const created = parseSalesforceDate(row['CreatedDate']);
    const lastModified = parseSalesforceDate(row['LastModifiedDate']);
    const stamp = required(modstamp, 'SystemModstamp', input);
    if (input.kind !== 'updated' && created !== undefined && created === stamp) {
      changeType = 'CREATE';
      commitTimestamp = stamp;
    } else if (input.kind !== 'updated' && created !== undefined && previous === undefined && created === lastModified) {
      changeType = 'CREATE';
      commitTimestamp = created;
    } else {
      changeType = 'UPDATE';
      commitTimestamp = stamp;
      if (previous !== undefined) changedFields = diffFields(object, record, previous, input.derived);
      else unknown = true;
    }
  }
  return {
    object,
    recordId,
    changeType,
    changedFields,
    ...(unknown ? { changedFieldsUnknown: true as const } : {}),
    record,
    commitTimestamp,
    detectedBy: input.detectedBy,
  };
}
