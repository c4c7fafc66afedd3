/**
 * One form for datetimes in `record`. Salesforce writes the same instant two ways: REST and SOQL answer
 * `2024-01-01T00:00:00.000+0000`, change events over CometD `2024-01-01T00:00:00.000Z` (and Pub/Sub epoch
 * milliseconds, as `commitTimestamp` is everywhere). A polled record and a streamed one must not differ
 * by that alone, so every datetime value becomes the RFC 3339 UTC form of the event's `time`:
 * `2024-01-01T00:00:00.000Z`. Dates (`2024-01-01`) and times of day are left as they are.
 */
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})$/;

/** The canonical form of a Salesforce datetime string; anything else is returned unchanged. */
export function canonicalDateTime(value: unknown): unknown {
  if (typeof value !== 'string' || !DATETIME.test(value)) return value;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/** `record` with its datetime values in the canonical form (a new object; nested values untouched). */
export function withCanonicalDateTimes(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, canonicalDateTime(v)]));
}
