/**
 * One request = one transaction: one commit instant, one transactionKey, an
 * undo log for allOrNone rollbacks, and the list of record changes its
 * change events are built from.
 */
import { randomBytes } from 'node:crypto';
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

  /**
   * @param ts The commit instant (ms). Every record written gets it as
   *   LastModifiedDate/SystemModstamp and every change event as
   *   commitTimestamp, so polling and CDC observe the same instant.
   * @param origin `changeOrigin` of the events, e.g. `com/salesforce/api/rest/59.0;client=x`.
   */
  constructor(
    readonly ts: number,
    readonly userId: string,
    readonly origin: string,
  ) {}

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
