/**
 * The per-object polling position. Rows are totally ordered by (SystemModstamp, Id), so "after the
 * cursor" is exact even when thousands of rows share one SystemModstamp (a bulk job): paging by
 * timestamp alone either loses or repeats them at a LIMIT boundary.
 */
import { floorToMinute } from '../../salesforce/soql.js';

export interface PollCursor {
  /** SystemModstamp (epoch ms) of the furthest row read. */
  systemModstamp: number;
  /** Its Id ('' when no row was read yet). */
  lastId: string;
  /** End of the last getDeleted window checked (epoch ms, whole minute). */
  deletedUntil: number;
}

export interface RowPosition {
  stamp: number;
  id: string;
}

/** Salesforce sorts Ids by their characters; compare the same way (ordinal, not locale). */
export function comparePosition(a: RowPosition, b: RowPosition): number {
  if (a.stamp !== b.stamp) return a.stamp < b.stamp ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function cursorPosition(c: PollCursor): RowPosition {
  return { stamp: c.systemModstamp, id: c.lastId };
}

export function advance(c: PollCursor, row: RowPosition): PollCursor {
  return comparePosition(row, cursorPosition(c)) > 0 ? { ...c, systemModstamp: row.stamp, lastId: row.id } : c;
}

/**
 * A new subscription fires for changes made after it exists, not for the org's history: the cursor
 * starts at "now" and what the first cycles read at or before it is only remembered (snapshots for
 * later diffs), never published. Our clock stands in for the org's; a skew smaller than the overlap
 * window only shifts which early changes count as "before".
 */
export function freshCursor(now: number): PollCursor {
  return { systemModstamp: now, lastId: '', deletedUntil: floorToMinute(now) };
}

export function sameCursor(a: PollCursor | undefined, b: PollCursor): boolean {
  return !!a && a.systemModstamp === b.systemModstamp && a.lastId === b.lastId && a.deletedUntil === b.deletedUntil;
}
