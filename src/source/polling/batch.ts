/**
 * Turns one cycle's rows into RawChanges against what was remembered, without touching the memory:
 * the new snapshots are staged and applied only after `handle` resolved (Kafka acked). Were they applied
 * before, a failed cycle would find its rows "already seen" on retry and drop them.
 */
import { toId18 } from '../../events/salesforce-id.js';
import { diffFields, normalizePolledRow, parseSalesforceDate } from '../../normalize/polled-row.js';
import type { RawChange } from '../../normalize/raw-change.js';
import { floorToSecond } from '../../salesforce/soql.js';
import { memoryKey, type RecordMemory, type Snapshot } from './memory.js';

export interface DeletedEntry {
  id: string;
  deletedDate: string;
}

export class CycleBatch {
  readonly changes: RawChange[] = [];
  readonly #staged = new Map<string, Snapshot>();
  /** CampaignId of each Opportunity as known before this cycle: what detect compares against. */
  readonly #previousCampaign = new Map<string, string | null>();

  constructor(
    private readonly memory: RecordMemory,
    private readonly orgId: string,
    private readonly detectedBy: 'polling' | 'reconcile',
  ) {}

  #prev(id18: string): Snapshot | undefined {
    return this.#staged.get(id18) ?? this.memory.get(memoryKey(this.orgId, id18));
  }

  #stage(object: string, id18: string, snap: Snapshot, prev: Snapshot | undefined): void {
    if (object.toLowerCase() === 'opportunity') {
      if (!this.#previousCampaign.has(id18) && prev?.campaignId !== undefined) this.#previousCampaign.set(id18, prev.campaignId);
      if (snap.record && 'CampaignId' in snap.record) {
        const c = snap.record['CampaignId'];
        snap.campaignId = typeof c === 'string' ? c : null;
      } else if (prev?.campaignId !== undefined) {
        snap.campaignId = prev.campaignId;
      }
    }
    this.#staged.set(id18, snap);
  }

  /**
   * One queried row. `emit: false` only remembers it (rows that predate a new subscription).
   * `createdAfter` (epoch ms): creations after it have not been reported by anyone yet (the
   * cycle's cursor, a reconcile window's start). `derived`: the object's formula fields, never listed as
   * changed (change events do not carry them). Returns the change it produced, if any.
   */
  addRow(object: string, row: Record<string, unknown>, emit = true, createdAfter?: number, derived: readonly string[] = []): RawChange | undefined {
    const id18 = typeof row['Id'] === 'string' ? toId18(row['Id']) : undefined;
    const stamp = parseSalesforceDate(row['SystemModstamp']);
    if (id18 === undefined || stamp === undefined) {
      // normalize throws the precise ValidationError for a malformed row.
      return emit ? this.#push(normalizePolledRow({ object, row, detectedBy: this.detectedBy })) : undefined;
    }
    const deleted = row['IsDeleted'] === true;
    const prev = this.#prev(id18);
    const { attributes: _a, ...values } = row;
    // An older state than one seen (stale read), or the same state again (overlap re-read). Stamps are
    // whole seconds, so the same stamp with other values is a newer version of that second, not a re-read.
    if (prev && prev.stamp > stamp) return undefined;
    const sameSecond = !!prev && prev.stamp === stamp && prev.deleted === deleted;
    if (sameSecond && (deleted || !prev.record || diffFields(object, values, prev.record, derived).length === 0)) return undefined;

    const snap: Snapshot = { stamp, deleted, record: values };
    let change: RawChange | undefined;
    if (emit && sameSecond) {
      change = normalizePolledRow({ object, row, previous: prev.record!, kind: 'updated', derived, detectedBy: this.detectedBy });
    } else if (emit) {
      if (deleted) {
        // A deleted row after a tombstone (e.g. a purge bumping SystemModstamp) is not a new deletion.
        if (!prev?.deleted) change = normalizePolledRow({ object, row, detectedBy: this.detectedBy });
        if (change && !prev) this.#unreportedCreate(change, row, createdAfter);
      } else if (prev?.deleted) {
        change = normalizePolledRow({ object, row, kind: 'undeleted', detectedBy: this.detectedBy });
      } else {
        const previous = prev?.record && Object.keys(prev.record).length > 1 ? prev.record : undefined;
        const c = normalizePolledRow({ object, row, ...(previous ? { previous } : {}), derived, detectedBy: this.detectedBy });
        if (c.changeType === 'UPDATE' && !prev) this.#unreportedCreate(c, row, createdAfter);
        // Known before and no field differs: only SystemModstamp moved (a system process). CDC is silent
        // about such changes too, so publishing one would make polling noisier than streaming.
        if (!(c.changeType === 'UPDATE' && previous && c.changedFields.length === 0)) change = c;
      }
    }
    this.#stage(object, id18, snap, prev);
    return change ? this.#push(change) : undefined;
  }

  /**
   * A row first seen already changed again, or already deleted, but created after `createdAfter`
   * (within one poll interval, or within a lost replay window): its creation was never reported, and
   * a New Record subscriber must not miss it. The row shows only its latest values; the CREATE gets
   * the id the streamed one would have had (commit time = CreatedDate) and goes before `later`.
   */
  #unreportedCreate(later: RawChange, row: Record<string, unknown>, createdAfter: number | undefined): void {
    const created = parseSalesforceDate(row['CreatedDate']);
    // Whole seconds: a row created in the second the window starts may be newer than its start.
    if (createdAfter === undefined || created === undefined || created < floorToSecond(createdAfter)) return;
    const record = 'IsDeleted' in later.record ? { ...later.record, IsDeleted: false } : later.record;
    const { changedFieldsUnknown: _unknown, ...rest } = later;
    this.#push({ ...rest, changeType: 'CREATE', changedFields: [], record, commitTimestamp: created });
  }

  /** A getDeleted entry: hard deletes and purged recycle-bin rows that queryAll cannot show. */
  addDeleted(object: string, entry: DeletedEntry): RawChange | undefined {
    const id18 = toId18(entry.id);
    const at = parseSalesforceDate(entry.deletedDate);
    if (id18 === undefined || at === undefined) return undefined;
    const prev = this.#prev(id18);
    // Known deleted (queryAll showed it), or live again with a newer state: nothing new to say.
    if (prev && (prev.deleted || prev.stamp > at)) return undefined;
    const change = normalizePolledRow({ object, row: { Id: id18 }, kind: 'deleted', deletedDate: at, detectedBy: this.detectedBy });
    this.#stage(object, id18, { stamp: at, deleted: true, ...(prev?.record ? { record: prev.record } : {}) }, prev);
    return this.#push(change);
  }

  #push(change: RawChange): RawChange {
    this.changes.push(change);
    return change;
  }

  /** For detect: the Opportunity's CampaignId before this cycle (null: none; undefined: unknown). */
  previousCampaignId = (recordId: string): string | null | undefined => {
    const id18 = toId18(recordId) ?? recordId;
    if (this.#previousCampaign.has(id18)) return this.#previousCampaign.get(id18);
    return undefined;
  };

  /** Remember this cycle's rows: call only once the changes are safely published. */
  apply(): void {
    for (const [id18, snap] of this.#staged) this.memory.set(memoryKey(this.orgId, id18), snap);
    this.#staged.clear();
  }
}
