/**
 * Events of one Salesforce transaction must leave in `sequenceNumber` order (a lead conversion's Account,
 * Contact and Opportunity CREATEs before the Lead UPDATE that points at them), but they may reach us out
 * of order when they come from different channels. We reorder only *within* a transaction and leave each
 * transaction's events in the slots they arrived in, so the interleaving with other transactions (commit
 * order as delivered) is untouched.
 */
import type { ForcehookEvent } from '../events/schema.js';

export interface SequenceInfo {
  transactionKey?: string | undefined;
  sequenceNumber?: number | undefined;
}

export function orderWithinTransactions<T>(items: readonly T[], info: (item: T) => SequenceInfo): T[] {
  const slots = new Map<string, number[]>();
  items.forEach((item, i) => {
    const { transactionKey, sequenceNumber } = info(item);
    if (transactionKey === undefined || sequenceNumber === undefined) return;
    const list = slots.get(transactionKey);
    if (list) list.push(i);
    else slots.set(transactionKey, [i]);
  });
  const out = [...items];
  for (const indexes of slots.values()) {
    if (indexes.length < 2) continue;
    // Array.prototype.sort is stable: a record event stays ahead of the campaign event of the same change.
    const sorted = indexes.map((i) => items[i]!).sort((a, b) => info(a).sequenceNumber! - info(b).sequenceNumber!);
    indexes.forEach((slot, j) => {
      out[slot] = sorted[j]!;
    });
  }
  return out;
}

export function orderTransaction(events: readonly ForcehookEvent[]): ForcehookEvent[] {
  return orderWithinTransactions(events, (e) => e.data);
}
