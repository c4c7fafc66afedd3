/**
 * The chaos suite's accounting: every change of the emulator's change log against what reached Kafka and the
 * webhook receiver.
 *
 * A change event has an exact name (events/id.ts, `cdcEventId`), but a change the service found by polling or
 * reconcile carries a row id unless the service could prove it is a streamed change, so the ledger cannot
 * match by id alone. It matches each copy it sees to a change of the log:
 * 1. by id: the copy carries the change's CDC id;
 * 2. UPDATE under another id: the copy carries the record's values, and the change after which the record had
 *    exactly those values (its state folded from the log's change events) is the one it shows. Such a copy
 *    also vouches for every earlier UPDATE of the record not seen otherwise: polling reads states, so two
 *    updates of one record between two polls are one polled version, and the earlier is `superseded`
 *    (counted, never silent). A copy under a CDC id supersedes nothing (a stream that skips a change lost it);
 * 3. otherwise by record, type and second: the copy's `commitTimestamp` second is the change's commit second
 *    or its row stamp second (LastModifiedDate in the event, the transaction's start; the two differ only for
 *    long transactions). Of several such changes, the latest not yet seen takes it. An UPDATE copy matched
 *    only this way (no values to compare) is counted in `unverifiedRows`.
 * A copy of a change already seen is a duplicate: under the same id (what a consumer deduping on `webhook-id`
 * drops), or under another id (the same change read by CDC and by polling where the service could not prove
 * it: a duplicate, never a loss, but visible to consumers; scenarios say whether they expect any).
 *
 * The ledger listens to the org's event bus from its creation, so a fault that empties the log
 * (expire-replay) cannot take changes away from it; what the log held before is merged in by `snapshot()`.
 * A scenario that takes entities out of the CDC selection listens to every commit instead (`source:
 * 'commits'`): a deselected entity's changes make no change events, but they happened all the same.
 *
 * A polled or reconciled DELETE copy carries the values the record was deleted with: it vouches for the UPDATEs
 * up to that state (updated, then deleted between two polls, the update shows only there).
 * A DELETE copy dated by no deletion of its record (a deletion found after the delete log was purged is dated
 * by the purge, which came after it) stands for the latest deletion of the record not seen before its date.
 */
import { cdcEventId } from '../src/events/id.js';
import { toId18 } from '../src/events/salesforce-id.js';
import type { EventType } from '../src/events/schema.js';
import type { Receiver } from '../testkit/receiver.js';
import { sleep, waitFor } from '../testkit/wait.js';
import type { Ctx } from './lib.js';
import type { Counts } from './verdict.js';

/** What the ledger reads of an event on Kafka (testkit's reader gives more). */
export interface Published {
  id: string;
  /** What the change is, independent of its id: `type subject commitTimestamp`. */
  content: string;
  data: { record?: Record<string, unknown>; detectedBy?: string };
}

const TYPE_OF: Record<string, EventType> = {
  CREATE: 'salesforce.record.created',
  UPDATE: 'salesforce.record.updated',
  DELETE: 'salesforce.record.deleted',
  UNDELETE: 'salesforce.record.undeleted',
};
const UPDATED: EventType = 'salesforce.record.updated';
const DELETED: EventType = 'salesforce.record.deleted';

/** A window after which the service can only report each record's latest state (an expired replay window). */
export interface LatestStateWindow {
  sinceMs: number;
  untilMs: number;
}

export type LedgerCounts = Counts & {
  missing: string[];
  unexpected: number;
  invalid: number;
  superseded?: number;
  /** Extra copies of a change under the id of its first copy. */
  duplicatesSameId: number;
  /** Extra copies of a change under another id than its first copy's. */
  duplicatesOtherId: number;
  /** Ids carried by copies of two different changes (must be 0: a consumer would drop the second). */
  idCollisions: number;
  /** UPDATE copies under a row id matched by second only (they carried no values to compare). */
  unverifiedRows: number;
};

interface Change {
  id: string;
  /** Position in the emulator's change log (replayId): which of two changes of a record is later. */
  seq: number;
  recordId: string;
  type: EventType;
  commitTimestamp: number;
  /** Seconds (epoch s) a copy of this change may be dated with: commit, and the row stamp where the event shows it. */
  seconds: number[];
  /** Top-level scalar values the change event carried, normalized (`value`). */
  fields: Map<string, string>;
  content: string;
}

/** A copy of an event as the reader or the receiver saw it. */
interface Seen {
  id: string;
  type: string;
  recordId: string;
  commitTimestamp: number;
  record: Record<string, unknown> | undefined;
}

const sec = (ms: number): number => Math.floor(ms / 1000);

/** Values compared across CDC (`…Z`) and REST (`…+0000`): datetimes by instant; compounds left out. */
function value(v: unknown): string | undefined {
  if (v !== null && typeof v === 'object') return undefined;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(v)) {
    const instant = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (!Number.isNaN(instant)) return `@${instant}`;
  }
  return JSON.stringify(v ?? null);
}

function seen(x: { id: string; content: string; type?: string; recordId?: string; commitTimestamp?: number; record?: Record<string, unknown> }): Seen {
  const [type = '', recordId = '', ts = ''] = x.content.split(' ');
  return { id: x.id, type: x.type ?? type, recordId: x.recordId ?? recordId, commitTimestamp: x.commitTimestamp ?? Number(ts), record: x.record };
}

interface Accounting {
  /** Change id → how its first copy was matched. */
  seen: Map<string, 'id' | 'row'>;
  /** UPDATEs vouched for by a later row copy of their record. */
  superseded: Set<string>;
  sameId: number;
  otherId: number;
  unexpected: number;
  collisions: number;
  unverified: number;
}

export class Ledger {
  /** Expected event id (the CDC id) → what the change is. */
  readonly expected = new Map<string, string>();
  /** Ids not to expect (e.g. injected garbage that only looks like a change). */
  readonly exclude = new Set<string>();
  readonly #changes = new Map<string, Change>();
  readonly #unlisten: (() => void)[] = [];
  /** Order of the commits observed (`source: 'commits'`), standing in for replayIds. */
  #seq = 0;
  readonly #source: 'bus' | 'commits';
  constructor(
    private readonly ctx: Ctx,
    private readonly orgIds: string[],
    private readonly objects: string[],
    opts: { source?: 'bus' | 'commits' } = {},
  ) {
    this.#source = opts.source ?? 'bus';
    for (const orgId of orgIds) {
      const org = ctx.emulator.emulator.org(orgId);
      if (!org) continue;
      if (this.#source === 'bus') {
        this.#unlisten.push(org.bus.subscribe((ev) => this.#add(orgId, ev)));
        continue;
      }
      const observe = (changes: { payload: Record<string, unknown>; replayId?: number }[]): void => {
        for (const c of changes) {
          const seq = ++this.#seq;
          this.#add(orgId, { replayId: seq, payload: c.payload }, c.replayId);
        }
      };
      org.commitObservers.add(observe);
      this.#unlisten.push(() => org.commitObservers.delete(observe));
    }
    this.snapshot();
  }

  snapshot(): Map<string, string> {
    if (this.#source === 'commits') return this.expected;
    for (const orgId of this.orgIds) {
      const org = this.ctx.emulator.emulator.org(orgId);
      if (org) for (const ev of org.bus.eventsAfter(0)) this.#add(orgId, ev);
    }
    return this.expected;
  }

  close(): void {
    for (const u of this.#unlisten.splice(0)) u();
  }

  /** Changes of the ledger committed in [sinceMs, untilMs]. */
  committedBetween(sinceMs: number, untilMs: number): number {
    let n = 0;
    for (const [id, c] of this.#changes) if (this.expected.has(id) && c.commitTimestamp >= sinceMs && c.commitTimestamp <= untilMs) n++;
    return n;
  }

  /** `ev.replayId` orders the changes; `busReplayId`, where it differs, is the event's own. */
  #add(orgId: string, ev: { replayId: number; payload: unknown }, busReplayId?: number): void {
    const payload = ev.payload as Record<string, unknown>;
    const h = payload?.['ChangeEventHeader'] as
      { entityName: string; recordIds: string[]; changeType: string; commitTimestamp: number; transactionKey?: unknown; sequenceNumber?: unknown } | undefined;
    // A gap event is its change all the same, without the body (the change was too large to send).
    const changeType = typeof h?.changeType === 'string' ? h.changeType.replace(/^GAP_/, '') : undefined;
    if (
      !h ||
      typeof h !== 'object' ||
      !this.objects.includes(h.entityName) ||
      !changeType ||
      !Object.hasOwn(TYPE_OF, changeType) ||
      !Array.isArray(h.recordIds) ||
      typeof h.commitTimestamp !== 'number'
    )
      return;
    for (const rawId of h.recordIds) {
      if (typeof rawId !== 'string') continue;
      const type = TYPE_OF[changeType]!;
      let id: string;
      try {
        id = cdcEventId({
          orgId,
          recordId: rawId,
          type,
          commitTimestamp: h.commitTimestamp,
          transactionKey: typeof h.transactionKey === 'string' ? h.transactionKey : undefined,
          sequenceNumber: typeof h.sequenceNumber === 'number' ? h.sequenceNumber : undefined,
          replayId: String(busReplayId ?? ev.replayId),
        });
      } catch {
        continue; // not a change the contract can name (injected garbage)
      }
      if (this.exclude.has(id)) continue;
      const content = `${type} ${rawId} ${h.commitTimestamp}`;
      this.expected.set(id, content);
      if (this.#changes.has(id)) continue;
      const fields = new Map<string, string>();
      for (const [k, v] of Object.entries(payload)) {
        if (k === 'ChangeEventHeader') continue;
        const n = value(v);
        if (n !== undefined) fields.set(k, n);
      }
      const seconds = new Set([sec(h.commitTimestamp)]);
      const stamp = fields.get('LastModifiedDate');
      if (stamp?.startsWith('@')) seconds.add(sec(Number(stamp.slice(1))));
      this.#changes.set(id, {
        id,
        seq: ev.replayId,
        recordId: toId18(rawId) ?? rawId,
        type,
        commitTimestamp: h.commitTimestamp,
        seconds: [...seconds],
        fields,
        content,
      });
    }
  }

  /**
   * Waits (bounded) until every expected change was delivered (or superseded), then counts.
   */
  async settle(
    reader: { events: Published[] },
    receiver: Receiver,
    timeoutMs: number,
    latestState?: () => LatestStateWindow | undefined,
  ): Promise<LedgerCounts> {
    this.snapshot();
    await waitFor(() => this.count(reader.events, receiver, latestState?.()).lost === 0, timeoutMs, 200);
    await sleep(1_000); // late duplicates
    return this.count(reader.events, receiver, latestState?.());
  }

  /**
   * Counts one list of copies (the events topic, or the receiver's deliveries) against the changes.
   * `states`: per record, its changes in log order with the record's values after each.
   */
  #account(list: Seen[], byRecord: Map<string, { change: Change; state: Map<string, string> }[]>): Accounting {
    const a: Accounting = { seen: new Map(), superseded: new Set(), sameId: 0, otherId: 0, unexpected: 0, collisions: 0, unverified: 0 };
    const firstId = new Map<string, string>();
    /** Each id's change (undefined: matched none), so a copy read again is a duplicate under the same id. */
    const idOf = new Map<string, Change | undefined>();
    /** Per record: the latest change a row copy showed the state after. */
    const vouched = new Map<string, number>();
    const take = (c: Change, id: string, how: 'id' | 'row'): void => {
      if (!a.seen.has(c.id)) {
        a.seen.set(c.id, how);
        firstId.set(c.id, id);
      } else if (firstId.get(c.id) === id) a.sameId++;
      else a.otherId++;
    };
    for (const s of list) {
      const recordId = toId18(s.recordId) ?? s.recordId;
      if (idOf.has(s.id)) {
        const c = idOf.get(s.id);
        if (!c) a.unexpected++;
        else if (c.recordId !== recordId || c.type !== s.type) a.collisions++;
        else take(c, s.id, 'id');
        continue;
      }
      const exact = this.expected.has(s.id) ? this.#changes.get(s.id) : undefined;
      if (exact) {
        idOf.set(s.id, exact);
        if (exact.recordId !== recordId || exact.type !== s.type) a.collisions++;
        else take(exact, s.id, 'id');
        continue;
      }
      const history = byRecord.get(recordId) ?? [];
      // Which state of the record the copy shows, by its values: the latest change after which they held.
      let shown: Change | undefined;
      if (s.record) {
        const row = new Map<string, string>();
        for (const [k, v] of Object.entries(s.record)) {
          const n = value(v);
          if (n !== undefined) row.set(k, n);
        }
        for (let i = history.length - 1; i >= 0 && !shown; i--) {
          const { change, state } = history[i]!;
          let agree = true;
          let compared = 0;
          for (const [k, v] of state) {
            // A deletion moves LastModifiedDate; the other values are the record's last state.
            if (s.type === DELETED && k === 'LastModifiedDate') continue;
            const r = row.get(k);
            if (r === undefined) continue;
            compared++;
            if (r !== v) {
              agree = false;
              break;
            }
          }
          if (agree && compared > 0) shown = change;
        }
        // A deleted row shows the state it was deleted in: the UPDATE that made it is superseded too.
        if (shown) vouched.set(recordId, Math.max(vouched.get(recordId) ?? -1, shown.seq + (s.type === DELETED ? 0.5 : 0)));
      }
      let match: Change | undefined;
      if (s.type === UPDATED && shown?.type === UPDATED) {
        match = shown;
      } else {
        const candidates = history.map((h) => h.change).filter((c) => c.type === s.type && c.seconds.includes(sec(s.commitTimestamp)));
        match = [...candidates].reverse().find((c) => !a.seen.has(c.id)) ?? candidates[candidates.length - 1];
        if (!match && s.type === DELETED) {
          match = history
            .map((h) => h.change)
            .filter((c) => c.type === DELETED && c.commitTimestamp <= s.commitTimestamp && !a.seen.has(c.id))
            .at(-1);
        }
        if (match && s.type === UPDATED && !shown) a.unverified++;
      }
      idOf.set(s.id, match);
      if (match) take(match, s.id, 'row');
      else a.unexpected++;
    }
    for (const [recordId, latest] of vouched) {
      for (const { change } of byRecord.get(recordId) ?? []) {
        if (change.type === UPDATED && change.seq < latest && !a.seen.has(change.id)) a.superseded.add(change.id);
      }
    }
    return a;
  }

  /**
   * `latestState`: changes committed inside that window which were not seen but are followed by a later change
   * of the same record that was seen count as `superseded`, not `lost` (after an expired replay window the
   * service can only read each record's current state). Outside it, a missing change is lost unless a later
   * polled or reconciled copy of its record vouches for it (UPDATEs only, see the module comment).
   */
  count(events: Published[], receiver: Receiver, latestState?: LatestStateWindow): LedgerCounts {
    this.snapshot();
    const ids = [...this.expected.keys()].filter((id) => this.#changes.has(id));
    const byRecord = new Map<string, { change: Change; state: Map<string, string> }[]>();
    for (const c of ids.map((id) => this.#changes.get(id)!).sort((x, y) => x.seq - y.seq)) {
      const list = byRecord.get(c.recordId) ?? [];
      const state = new Map(list[list.length - 1]?.state ?? []);
      for (const [k, v] of c.fields) state.set(k, v);
      list.push({ change: c, state });
      byRecord.set(c.recordId, list);
    }
    const pub = this.#account(
      events.map((e) => seen({ id: e.id, content: e.content, ...(e.data.record ? { record: e.data.record } : {}) })),
      byRecord,
    );
    const del = this.#account(
      receiver.deliveries.map((d) => seen({ ...d, id: d.webhookId })),
      byRecord,
    );

    const covered = (acc: Accounting, id: string): 'seen' | 'superseded' | undefined => {
      if (acc.seen.has(id)) return 'seen';
      if (acc.superseded.has(id)) return 'superseded';
      if (!latestState) return undefined;
      const c = this.#changes.get(id)!;
      if (c.commitTimestamp < latestState.sinceMs || c.commitTimestamp > latestState.untilMs) return undefined;
      const later = (byRecord.get(c.recordId) ?? []).some(({ change }) => change.seq > c.seq && acc.seen.has(change.id));
      return later ? 'superseded' : undefined;
    };
    const missing: string[] = [];
    let superseded = 0;
    for (const id of ids) {
      const p = covered(pub, id);
      const d = covered(del, id);
      if (!p || !d) missing.push(id);
      else if (p === 'superseded' || d === 'superseded') superseded++;
    }
    const sameId = pub.sameId + del.sameId;
    const otherId = pub.otherId + del.otherId;
    const collisions = pub.collisions + del.collisions;
    return {
      changes: ids.length,
      published: ids.filter((id) => pub.seen.has(id)).length,
      delivered: ids.filter((id) => del.seen.has(id)).length,
      lost: missing.length,
      ...(latestState || superseded > 0 ? { superseded } : {}),
      duplicates: sameId + otherId,
      duplicatesSameId: sameId,
      duplicatesOtherId: otherId,
      duplicatesWithSameId: otherId === 0 && collisions === 0,
      idCollisions: collisions,
      unverifiedRows: pub.unverified + del.unverified,
      missing: missing.map((id) => `${this.expected.get(id)}${covered(pub, id) ? ' (published, not delivered)' : ''}`),
      unexpected: pub.unexpected,
      invalid: receiver.invalid.length,
    };
  }
}
