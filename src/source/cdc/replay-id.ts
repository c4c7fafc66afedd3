/**
 * ReplayIds are opaque to Salesforce, but in practice increasing integers (longs).
 * Ordering is needed only to drop duplicates, so anything that does not parse as an
 * integer is "not comparable" and never treated as a duplicate: a false duplicate
 * would lose an event, a false new one only costs a re-send with the same event id.
 */
const INTEGER = /^-?\d+$/;

export function compareReplayIds(a: string, b: string): number | undefined {
  if (!INTEGER.test(a) || !INTEGER.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when `candidate` is known to be at or before `floor`. */
export function isAtOrBefore(candidate: string, floor: string | undefined): boolean {
  if (floor === undefined) return false;
  const c = compareReplayIds(candidate, floor);
  return c !== undefined && c <= 0;
}

/** The replay map value as the wire wants it: a JSON number when exact (Salesforce sends longs), else the string. */
export function wireReplayId(replayId: string): number | string {
  if (!INTEGER.test(replayId)) return replayId;
  const n = Number(replayId);
  return Number.isSafeInteger(n) ? n : replayId;
}

export function replayIdOf(data: unknown): string | undefined {
  const event = (data as { event?: { replayId?: unknown } } | null)?.event;
  const id = event?.replayId;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  if (typeof id === 'string' && id !== '') return id;
  return undefined;
}

export function commitTimestampOf(data: unknown): number {
  const header = (data as { payload?: { ChangeEventHeader?: { commitTimestamp?: unknown } } } | null)?.payload?.ChangeEventHeader;
  const ts = header?.commitTimestamp;
  return typeof ts === 'number' && Number.isFinite(ts) ? ts : 0;
}
