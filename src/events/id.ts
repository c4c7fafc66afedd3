/**
 * Deterministic event ids.
 *
 * Contract §4 promises that the same change, detected twice (CometD re-delivery, replay after a restart,
 * polling after streaming fell back or the other way round), carries the same CloudEvent `id`; consumers
 * and the webhook layer (`webhook-id`) deduplicate on it. So the id must be a pure function of facts that
 * every detection path knows about the change, and of nothing path-specific:
 *
 *   id = UUID layout (RFC 4122: version nibble 5, variant 10) over the first 16 bytes of
 *        SHA-256("forcehook/event/v1|" + orgId | recordId18 | eventType | commitTimestampMs [| "#" + occurrence])
 *
 * SHA-256 rather than SHA-1 (true v5) because nothing here needs interop with other v5 producers and the
 * "v5-style" layout keeps the ids valid UUIDs for every validator. The "v1" tag lets us change the recipe
 * later without colliding with old ids.
 *
 * What each path uses as commitTimestampMs:
 * - CDC: `ChangeEventHeader.commitTimestamp`.
 * - Polling / reconcile, CREATE and UPDATE: the row's `SystemModstamp`; for a DELETE the `deletedDate` from
 *   getDeleted, else the deleted row's `SystemModstamp` (queryAll).
 * ASSUMPTION: SystemModstamp equals the CDC commitTimestamp of the same change. The emulator guarantees it.
 * Real Salesforce stamps SystemModstamp at transaction start with second precision while commitTimestamp is
 * the commit in ms, so ids match there only when the two coincide (captured commitTimestamps are whole
 * seconds, which helps); when they do not, the same change polled and streamed yields two ids and
 * downstream sees a duplicate, never a loss.
 *
 * Known limit and the mitigation we apply: two UPDATEs of one record with the same commitTimestamp would
 * share an id, and the second would be dropped as a duplicate. Salesforce folds several DML operations on one
 * record in one transaction into one event, so inside a transaction this needs unusual circumstances; across
 * transactions it needs two commits in the same millisecond (or second, see above). For CDC we break the tie
 * with `occurrence`: `detectBatch` counts earlier events in the same batch with the same
 * (recordId, type, commitTimestamp) and a different transactionKey/sequenceNumber, and the n-th repeat gets
 * "#n" appended. The first occurrence, which is the one polling could ever observe, keeps the plain recipe,
 * so CDC/polling equality holds for the common case. The tie-break is deterministic as long as the
 * colliding events are processed in one batch (Salesforce delivers a transaction's events together);
 * collisions split across batches still share an id.
 */
import { createHash } from 'node:crypto';
import type { EventType } from './schema.js';

export interface EventIdInput {
  orgId: string;
  /** 18-character record id. */
  recordId: string;
  type: EventType;
  commitTimestamp: number;
  /** 0 (default) for the first event with these facts; n for the n-th colliding repeat (CDC only). */
  occurrence?: number;
}

const RECIPE = 'forcehook/event/v1';

export function eventId(input: EventIdInput): string {
  const parts = [RECIPE, input.orgId, input.recordId, input.type, String(Math.trunc(input.commitTimestamp))];
  let name = parts.join('|');
  if (input.occurrence !== undefined && input.occurrence > 0) name += `#${input.occurrence}`;
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
