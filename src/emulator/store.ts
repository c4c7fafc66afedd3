/**
 * One org's records. Values are kept in the shape SOQL and REST read them
 * (canonical field names, datetimes as `…000+0000`) and only when non-null, so
 * thousands of orgs with live activity stay small.
 */
export type Values = Record<string, unknown>;

export interface Row {
  id: string;
  object: string;
  /** Replaced, never mutated, by writes: an undo keeps the old object. */
  values: Values;
  /** The parent whose deletion cascaded to this row: undeleting the parent restores it. */
  deletedWith?: string;
}

export interface DeletedEntry {
  object: string;
  id: string;
  at: number;
}

/** Salesforce keeps the Recycle Bin and the delete log for 15 days. */
export const RECYCLE_BIN_MS = 15 * 24 * 3600 * 1000;

export class RecordStore {
  private readonly tables = new Map<string, Map<string, Row>>();
  private readonly rows = new Map<string, Row>();
  private deletedLog: DeletedEntry[] = [];
  private deletedHead = 0;
  /**
   * When deletions were last removed from the log for good (the 15-day purge, or an admin emptying the
   * Recycle Bin): getDeleted's earliestDateAvailable, before which the log is incomplete.
   */
  physicallyDeletedUntil = 0;

  get(id: string): Row | undefined {
    return this.rows.get(id);
  }

  table(object: string): Map<string, Row> {
    let t = this.tables.get(object);
    if (!t) {
      t = new Map();
      this.tables.set(object, t);
    }
    return t;
  }

  put(row: Row): void {
    this.rows.set(row.id, row);
    this.table(row.object).set(row.id, row);
  }

  remove(id: string): void {
    const row = this.rows.get(id);
    if (!row) return;
    this.rows.delete(id);
    this.tables.get(row.object)?.delete(id);
  }

  logDelete(entry: DeletedEntry): void {
    this.deletedLog.push(entry);
    this.purge(entry.at);
  }

  unlogDelete(id: string): void {
    for (let i = this.deletedLog.length - 1; i >= this.deletedHead; i--) {
      if (this.deletedLog[i]!.id === id) {
        this.deletedLog.splice(i, 1);
        return;
      }
    }
  }

  deletedBetween(object: string, start: number, end: number): DeletedEntry[] {
    const out: DeletedEntry[] = [];
    for (let i = this.deletedHead; i < this.deletedLog.length; i++) {
      const e = this.deletedLog[i]!;
      if (e.object === object && e.at >= start && e.at < end) out.push(e);
    }
    return out;
  }

  /** Bin entries older than 15 days are purged for good, like Salesforce's. */
  purge(now: number): void {
    this.purgeBefore(now - RECYCLE_BIN_MS);
  }

  /** The Recycle Bin emptied now: the log starts at `now` (whole seconds up, as its entries are). */
  purgeLog(now: number): number {
    const until = Math.ceil(now / 1000) * 1000;
    this.purgeBefore(until);
    this.physicallyDeletedUntil = Math.max(this.physicallyDeletedUntil, until);
    return this.physicallyDeletedUntil;
  }

  /**
   * Every deletion before `cutoff` leaves the log, and its recycled row goes for good (queryAll no longer
   * shows it): what emptying the Recycle Bin does, and the 15-day purge for older entries.
   */
  purgeBefore(cutoff: number): void {
    while (this.deletedHead < this.deletedLog.length && this.deletedLog[this.deletedHead]!.at < cutoff) {
      const e = this.deletedLog[this.deletedHead++]!;
      if (this.rows.get(e.id)?.values.IsDeleted === true) this.remove(e.id);
      this.physicallyDeletedUntil = Math.max(this.physicallyDeletedUntil, e.at);
    }
    if (this.deletedHead > 1024 && this.deletedHead * 2 > this.deletedLog.length) {
      this.deletedLog = this.deletedLog.slice(this.deletedHead);
      this.deletedHead = 0;
    }
  }

  size(): number {
    return this.rows.size;
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, t] of this.tables) if (t.size > 0) out[name] = t.size;
    return out;
  }
}
