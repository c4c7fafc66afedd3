/**
 * Finding deletions that the delete log no longer has. Salesforce's getDeleted answers
 * `earliestDateAvailable`, the time of the last physically deleted record: when an admin empties the
 * Recycle Bin (or the 15-day purge runs), deletions before it leave the log, and their recycled rows leave
 * queryAll too. A window that starts before it cannot trust the log, so the records polling knows to be
 * alive are checked against what still exists: a row now marked deleted is a deletion like any other
 * (its SystemModstamp dates it); a record that is gone entirely was deleted at or before
 * `earliestDateAvailable`, which stands in for its deletion time so that every instance sweeping after the
 * same purge gives the event the same id.
 *
 * Only records this process has read can be checked (the record memory is in-process and bounded): a record
 * created and deleted unseen, or seen only before a restart, cannot be told apart from one that never existed.
 */
import type { OrgSession } from '../../salesforce/session.js';
import type { RestOptions } from '../../salesforce/rest.js';
import { memoryKey, type RecordMemory } from './memory.js';
import { fetchRecords } from './reconcile.js';

export interface SweepResult {
  /** Rows still stored but deleted (in the Recycle Bin): classified like any polled row. */
  deletedRows: Record<string, unknown>[];
  /** Records that no longer exist at all (purged, or hard-deleted like a CampaignMember). */
  gone: string[];
}

/** The ids of `keyPrefix` (an object's first three id characters) that the memory holds as alive for this org. */
export function knownAlive(memory: RecordMemory, orgId: string, keyPrefix: string): string[] {
  const prefix = memoryKey(orgId, keyPrefix);
  const out: string[] = [];
  for (const [key, snap] of memory.entries()) {
    if (key.startsWith(prefix) && !snap.deleted) out.push(key.slice(orgId.length + 1));
  }
  return out;
}

/** Which of `ids` are deleted now: queryAll by id (deleted rows included), absent ids are gone. */
export async function sweepDeleted(session: OrgSession, object: string, ids: string[], opts: RestOptions = {}): Promise<SweepResult> {
  if (ids.length === 0) return { deletedRows: [], gone: [] };
  const rows = await fetchRecords(session, object, ids, opts);
  const present = new Set<string>();
  const deletedRows: Record<string, unknown>[] = [];
  for (const row of rows) {
    const id = String(row['Id'] ?? '');
    present.add(id);
    if (row['IsDeleted'] === true) deletedRows.push(row);
  }
  return { deletedRows, gone: ids.filter((id) => !present.has(id)) };
}
