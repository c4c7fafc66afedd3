/**
 * Deterministic event ids.
 *
 * Consumers and the webhook layer (`webhook-id`) deduplicate on the CloudEvent `id`, so the same change
 * detected twice must carry the same id, and two changes must never share one (the second would be
 * dropped as a duplicate: a loss). Salesforce gives us less to work with than it seems:
 * - `SystemModstamp`, `LastModifiedDate`, `CreatedDate`, `commitTimestamp` and getDeleted's `deletedDate`
 *   are whole seconds, so one record can change twice within one stamp;
 * - a row's `SystemModstamp` is set when its transaction starts, the change event's `commitTimestamp`
 *   when it commits: for the same change the two can differ, by as long as the transaction ran.
 * No fact that polling can read identifies a change as exactly as a change event does, so there are two
 * recipes, both UUID layout (RFC 4122: version nibble 5, variant 10) over the first 16 bytes of a SHA-256:
 *
 *   CDC: "forcehook/event/v2|cdc|" + org | record | type | commitSecond | transactionKey | sequenceNumber
 *   row: "forcehook/event/v2|row|" + org | record | type | stampSecond [| version]
 *
 * CDC. `transactionKey` is unique per transaction and `sequenceNumber` orders the events within it, so
 * with the record and the event type they name one change exactly, and an event read again (CometD
 * re-delivery, replay after a restart, another channel carrying the same event) gets the same id.
 * `commitNumber` is left out: Salesforce calls it diagnostic and not unique across database instances,
 * and values beyond 2^53 lose digits in JSON. An event without transactionKey/sequenceNumber falls back
 * to its replayId, which is deterministic for a re-read on the same channel.
 *
 * Row (polling, reconcile). The stamp is SystemModstamp (CREATE: CreatedDate; DELETE: deletedDate or the
 * deleted row's SystemModstamp). An UPDATE adds `version`, a hash of the row's values, because two
 * versions of a row can share a second: they get two ids, and reading the same version again gives the
 * same id. CREATE needs none (a record is created once); DELETE and UNDELETE neither (getDeleted and
 * queryAll show the same deletion, and the row values need not agree between them).
 *
 * Across the two. A row and a change event of the same change get the same id only where the service can
 * prove they are the same change: see source/sightings.ts, which maps a polled or reconciled row to the id
 * of a change event the service itself published. Where it cannot prove it, the row keeps its own id and
 * consumers see the change twice, under two ids: a duplicate, never a loss.
 *
 * SHA-256 rather than SHA-1 (true v5) because nothing here needs interop with other v5 producers. The "v2"
 * tag keeps these ids apart from the first recipe's (org | record | type | commit ms), which assumed a
 * polled SystemModstamp equals the commitTimestamp.
 */
import { createHash } from 'node:crypto';
import type { EventType } from './schema.js';

const RECIPE = 'forcehook/event/v2';

export interface CdcIdFacts {
  orgId: string;
  /** 18-character record id. */
  recordId: string;
  type: EventType;
  commitTimestamp: number;
  transactionKey?: string | undefined;
  sequenceNumber?: number | undefined;
  /** Only used when transactionKey or sequenceNumber is missing. */
  replayId?: string | undefined;
}

export interface RowIdFacts {
  orgId: string;
  /** 18-character record id. */
  recordId: string;
  type: EventType;
  /** SystemModstamp, CreatedDate or deletedDate (epoch ms; only the second counts). */
  stamp: number;
  /** UPDATE: `rowVersion` of the row's values. */
  version?: string | undefined;
}

const second = (ms: number): string => String(Math.floor(ms / 1000));

function uuid(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function cdcEventId(f: CdcIdFacts): string {
  const change = f.transactionKey !== undefined && f.sequenceNumber !== undefined ? `${f.transactionKey}|${f.sequenceNumber}` : `replay:${f.replayId ?? ''}`;
  return uuid([RECIPE, 'cdc', f.orgId, f.recordId, f.type, second(f.commitTimestamp), change].join('|'));
}

export function rowEventId(f: RowIdFacts): string {
  const parts = [RECIPE, 'row', f.orgId, f.recordId, f.type, second(f.stamp)];
  if (f.version !== undefined) parts.push(f.version);
  return uuid(parts.join('|'));
}

/** Fields that do not describe the row's state, or that a read may render differently. */
const NOT_VERSIONED = new Set(['attributes', 'SystemModstamp']);

/**
 * A short, stable hash of a row's values: keys sorted, datetimes compared by instant (`…Z` and
 * `…+0000` are the same value), nested objects (compounds) left out because polling drops them anyway.
 */
export function rowVersion(record: Record<string, unknown>): string {
  const keys = Object.keys(record)
    .filter((k) => !NOT_VERSIONED.has(k))
    .sort();
  const h = createHash('sha256');
  for (const k of keys) {
    const v = record[k];
    if (v !== null && typeof v === 'object') continue;
    const instant = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(v) ? Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
    h.update(`${k}\u0000${Number.isNaN(instant) ? JSON.stringify(v ?? null) : `@${instant}`}\u0001`);
  }
  return h.digest('hex').slice(0, 16);
}
