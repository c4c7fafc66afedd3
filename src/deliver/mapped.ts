/**
 * `data.mapped` of a subscription that names a field mapping: `{label: value}` from the event's
 * `data.record`. Added per subscription at delivery, not when the event is published: one event can
 * match several subscriptions with different mappings, and the event on Kafka stays the org's change.
 * A label whose field the change does not carry (an update that left it alone, a field the org no
 * longer has) is left out rather than sent as null, which would read as "cleared".
 */
import type { SubscriptionRecord } from '../state/records.js';
import type { StructuredEvent } from './types.js';

export function withMapped(event: StructuredEvent, sub: Pick<SubscriptionRecord, 'mapped'>): StructuredEvent {
  if (!sub.mapped) return event;
  const data = event.data as { record?: Record<string, unknown> } | null;
  if (!data || typeof data !== 'object') return event;
  const record = data.record ?? {};
  const byLower = new Map(Object.keys(record).map((k) => [k.toLowerCase(), k]));
  const mapped: Record<string, unknown> = {};
  for (const [label, field] of Object.entries(sub.mapped)) {
    const key = byLower.get(field.toLowerCase());
    if (key !== undefined && record[key] !== undefined) mapped[label] = record[key];
  }
  return { ...event, data: { ...data, mapped } };
}
