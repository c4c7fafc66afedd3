/**
 * Which change events the service published, so that a reconcile or a poll reading the same change as a
 * row can give it the change event's id (events/id.ts) instead of the row's.
 *
 * A row cannot name its change: stamps are whole seconds and SystemModstamp is the transaction's start,
 * so one record can change twice within one stamp and nothing in the row says which of the two it shows.
 * A row is mapped to a change event only when the service can prove they are the same change:
 * - the change event is the latest one published for the record, of the row's change type, and for an
 *   UPDATE or UNDELETE it carried the row's LastModifiedDate (the same second), no other published event
 *   of the record carrying that second (a CREATE happens once per record; a DELETE is the latest change);
 * - the object is still streamed by the same uninterrupted stream that delivered the event. That is what
 *   makes a wrong match harmless: if the row in fact shows a later change of the same second, that change
 *   is still to come on this stream under its own id; if the stream breaks first, the gap's reconcile
 *   re-reads the row (its window starts the overlap margin before the last processed commit) in a new
 *   stream epoch, where it keeps the row's id.
 * Anything else keeps the row's id: consumers may then see the change twice under two ids, never zero times.
 *
 * The memory is in-process and bounded: after a restart or an eviction the same change read both ways is
 * a duplicate.
 */
import { LRUCache } from 'lru-cache';
import type { ChangeType } from '../events/schema.js';
import { parseSalesforceDate } from '../normalize/polled-row.js';
import type { RawChange } from '../normalize/raw-change.js';

interface Sighting {
  type: ChangeType;
  /** LastModifiedDate the event carried, whole second (ms); undefined for a DELETE or when absent. */
  lastModified: number | undefined;
  commitTimestamp: number;
  transactionKey: string;
  sequenceNumber: number;
  /** The stream epoch of the object when the event was published. */
  epoch: number;
}

/** A record's last few events are enough: a row is only ever matched against the latest. */
const PER_RECORD = 4;

function createCache(maxBytes: number): LRUCache<string, Sighting[]> {
  return new LRUCache<string, Sighting[]>({ maxSize: maxBytes, sizeCalculation: (list) => 64 + list.length * 160 });
}

let shared: LRUCache<string, Sighting[]> | undefined;
let nextEpoch = 1;

const second = (ms: number): number => Math.floor(ms / 1000) * 1000;
const lc = (s: string): string => s.toLowerCase();

function lastModifiedOf(record: Record<string, unknown>): number | undefined {
  const ms = parseSalesforceDate(record['LastModifiedDate']);
  return ms === undefined ? undefined : second(ms);
}

export class Sightings {
  readonly #cache: LRUCache<string, Sighting[]>;
  /** Per object (lower case): the epoch of its current stream; absent while it is not streamed. */
  readonly #epochs = new Map<string, number>();

  /** `cache`: tests give their own; the service shares one, bounded in bytes, across all connections. */
  constructor(
    private readonly connectionId: string,
    cache?: LRUCache<string, Sighting[]>,
  ) {
    this.#cache = cache ?? (shared ??= createCache(32 * 1024 * 1024));
  }

  static cache(maxBytes = 1024 * 1024): LRUCache<string, Sighting[]> {
    return createCache(maxBytes);
  }

  /** The object is streamed from now on (a no-op while it already is). */
  streaming(object: string): void {
    if (!this.#epochs.has(lc(object))) this.#epochs.set(lc(object), nextEpoch++);
  }

  /** The object's stream broke (reconnect, lost replay window): what it delivered before proves nothing now. */
  interrupted(object?: string): void {
    for (const key of object === undefined ? [...this.#epochs.keys()] : [lc(object)]) {
      if (this.#epochs.has(key)) this.#epochs.set(key, nextEpoch++);
    }
  }

  /** The object is no longer streamed (polling, or unfollowed). */
  stopped(object: string): void {
    this.#epochs.delete(lc(object));
  }

  /** Call with the CDC changes once Kafka has acknowledged their events. */
  published(changes: readonly RawChange[]): void {
    for (const c of changes) {
      if (c.detectedBy !== 'cdc' || c.transactionKey === undefined || c.sequenceNumber === undefined) continue;
      const epoch = this.#epochs.get(lc(c.object));
      if (epoch === undefined) continue;
      const key = `${this.connectionId}:${c.recordId}`;
      const list = [...(this.#cache.get(key) ?? [])];
      if (list.some((s) => s.transactionKey === c.transactionKey && s.sequenceNumber === c.sequenceNumber)) continue;
      list.push({
        type: c.changeType,
        lastModified: c.changeType === 'DELETE' ? undefined : lastModifiedOf(c.record),
        commitTimestamp: c.commitTimestamp,
        transactionKey: c.transactionKey,
        sequenceNumber: c.sequenceNumber,
        epoch,
      });
      this.#cache.set(key, list.slice(-PER_RECORD));
    }
  }

  /** For detectBatch: the facts of the published change event this row is proven to be, if any. */
  sameChange = (row: RawChange): Pick<RawChange, 'commitTimestamp' | 'transactionKey' | 'sequenceNumber'> | undefined => {
    const epoch = this.#epochs.get(lc(row.object));
    const list = this.#cache.get(`${this.connectionId}:${row.recordId}`);
    const latest = list?.[list.length - 1];
    if (epoch === undefined || !latest || latest.epoch !== epoch || latest.type !== row.changeType) return undefined;
    if (row.changeType === 'UPDATE' || row.changeType === 'UNDELETE') {
      const lm = lastModifiedOf(row.record);
      if (lm === undefined || latest.lastModified !== lm) return undefined;
      if (list!.filter((s) => s.lastModified === lm).length > 1) return undefined;
    }
    return { commitTimestamp: latest.commitTimestamp, transactionKey: latest.transactionKey, sequenceNumber: latest.sequenceNumber };
  };
}
