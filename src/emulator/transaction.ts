/**
 * One request = one transaction: one start instant (the records' stamps), one
 * commit instant (the change events' commitTimestamp), one transactionKey, an
 * undo log for allOrNone rollbacks, and the list of record changes its
 * change events are built from.
 */
import { randomBytes } from 'node:crypto';
import { floorToSecond } from './clock.js';
import type { ObjectMeta } from './metadata/objects.js';

export type ChangeType = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

export interface Change {
  meta: ObjectMeta;
  id: string;
  type: ChangeType;
  /** UPDATE only: fields whose stored value changed. */
  changed: Set<string>;
}

export function newTransactionKey(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class Transaction {
  readonly key = newTransactionKey();
  readonly changes: Change[] = [];
  private readonly open = new Map<string, Change>();
  private readonly undoLog: Array<() => void> = [];
  /** The transaction's start (ms, whole second): every record written gets it as CreatedDate/LastModifiedDate/SystemModstamp. */
  readonly ts: number;
  /**
   * The commit (ms, whole second), the change events' commitTimestamp; set by `committed`. As on
   * Salesforce it can be later than the records' SystemModstamp: a long transaction commits rows
   * stamped in the past.
   */
  commitTimestamp: number;

  /**
   * @param startedAt When the transaction started (ms); kept to the whole second.
   * @param origin `changeOrigin` of the events, e.g. `com/salesforce/api/rest/59.0;client=x`.
   */
  constructor(
    startedAt: number,
    readonly userId: string,
    readonly origin: string,
  ) {
    this.ts = floorToSecond(startedAt);
    this.commitTimestamp = this.ts;
  }

  /** Marks the commit instant (ms); kept to the whole second, never before the start. */
  committed(at: number): void {
    this.commitTimestamp = Math.max(this.ts, floorToSecond(at));
  }

  onUndo(fn: () => void): void {
    this.undoLog.push(fn);
  }

  rollback(): void {
    for (let i = this.undoLog.length - 1; i >= 0; i--) this.undoLog[i]!();
    this.undoLog.length = 0;
    this.changes.length = 0;
    this.open.clear();
  }

  /**
   * Several writes to one record in one transaction make one event with the
   * first change type and the committed data ([CDC] General Considerations):
   * insert-then-update is a CREATE; updates merge their changed fields.
   */
  note(meta: ObjectMeta, id: string, type: ChangeType, changed?: Iterable<string>): void {
    const existing = this.open.get(id);
    if (existing && type === 'UPDATE' && existing.type !== 'DELETE') {
      if (existing.type === 'UPDATE' && changed) for (const f of changed) existing.changed.add(f);
      return;
    }
    const change: Change = { meta, id, type, changed: new Set(changed ?? []) };
    this.changes.push(change);
    this.open.set(id, change);
  }
}
