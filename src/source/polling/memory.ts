/**
 * What polling remembers of records it has seen: the last SystemModstamp (dedupe of the overlap window),
 * whether the row was deleted (undelete detection), the values (changed fields by diff) and, for
 * Opportunities, the CampaignId (campaign_opportunity.added).
 *
 * One LRU for the whole process, bounded in bytes, keyed by org and record: the target is 2,000 orgs per
 * instance, and a per-org cache of 10k snapshots would allow tens of GB. A shared budget goes to the orgs
 * that actually change. Losing an entry costs precision, never events: without a snapshot, changedFields
 * are empty, an undelete reads as an update, and an overlap re-read is published again under the same
 * deterministic id.
 */
import { LRUCache } from 'lru-cache';

export interface Snapshot {
  /** SystemModstamp (or deletedDate for a tombstone from getDeleted), epoch ms. */
  stamp: number;
  deleted: boolean;
  /** Field values as last read; absent when only the id is known (getDeleted). */
  record?: Record<string, unknown>;
  /** Opportunity.CampaignId as last read (null = none); undefined for other objects. */
  campaignId?: string | null;
}

export type RecordMemory = LRUCache<string, Snapshot>;

function approxSize(s: Snapshot): number {
  let n = 96;
  if (s.record) {
    for (const [k, v] of Object.entries(s.record)) {
      n += 32 + k.length * 2 + (typeof v === 'string' ? v.length * 2 : 16);
    }
  }
  return n;
}

export function createRecordMemory(opts: { maxBytes?: number } = {}): RecordMemory {
  return new LRUCache<string, Snapshot>({
    maxSize: opts.maxBytes ?? 256 * 1024 * 1024,
    sizeCalculation: approxSize,
  });
}

let shared: RecordMemory | undefined;
/** The process-wide memory pollers use unless given their own. */
export function sharedRecordMemory(): RecordMemory {
  shared ??= createRecordMemory();
  return shared;
}

export const memoryKey = (orgId: string, recordId18: string): string => `${orgId}:${recordId18}`;
