/**
 * The delivery record: one event for one subscription, as it travels on
 * `<prefix>.deliveries`, the retry topics and `<prefix>.dlq`. Keyed by
 * subscription id, so all of a subscription's work shares one partition per
 * topic (its order) and a DLQ scan for one subscription touches one partition.
 * The record carries the whole event: a dead letter can be redelivered years
 * later even after `<prefix>.events` retention dropped it.
 */
import { z } from 'zod';
import type { ConsumedMessage, KafkaMessage } from '../kafka/types.js';
import { StructuredEventSchema } from './types.js';

export const DeliveryRecordSchema = z.object({
  v: z.literal(1),
  subscriptionId: z.string().min(1),
  /** `<orgId>:<recordId>`: the unit of ordering within a subscription. */
  recordKey: z.string(),
  event: StructuredEventSchema,
  /** Attempts made so far (0 on `<prefix>.deliveries`). */
  attempts: z.number().int().nonnegative(),
  /** When the record is due again (retry topics only), epoch ms. */
  dueAt: z.number().optional(),
  firstAttemptAt: z.number().optional(),
  /**
   * Waits for its subscription's circuit breaker, not for its schedule: due as
   * soon as the breaker closes. Its attempts were not used up while it waited.
   */
  held: z.boolean().optional(),
  /** When the breaker first held it back (epoch ms): the dead-letter deadline counts from here when no attempt came first. */
  heldSince: z.number().optional(),
  lastError: z.string().optional(),
  lastStatus: z.number().int().optional(),
  /** Why the record exists: the fan-out of an event, or a redelivery request. */
  origin: z.enum(['match', 'redeliver-dlq', 'redeliver-range']).default('match'),
});
export type DeliveryRecord = z.output<typeof DeliveryRecordSchema>;

/** Header names: readable with broker tools without parsing the value. */
export const H = {
  dueAt: 'dueAt',
  attempts: 'fh-attempts',
  subscription: 'fh-subscription',
  eventId: 'fh-event-id',
} as const;

export function deliveryId(r: Pick<DeliveryRecord, 'subscriptionId' | 'event'>): string {
  return `${r.subscriptionId}:${r.event.id}`;
}

export function encodeDelivery(r: DeliveryRecord): KafkaMessage {
  const headers: Record<string, string> = {
    [H.attempts]: String(r.attempts),
    [H.subscription]: r.subscriptionId,
    [H.eventId]: r.event.id,
    'content-type': 'application/json',
  };
  if (r.dueAt !== undefined) headers[H.dueAt] = String(r.dueAt);
  return { key: r.subscriptionId, value: Buffer.from(JSON.stringify(r)), headers };
}

/** undefined for a record that is not ours (logged by the caller, never silently). */
export function decodeDelivery(m: Pick<ConsumedMessage, 'value'>): DeliveryRecord | undefined {
  if (m.value === null) return undefined;
  try {
    const parsed = DeliveryRecordSchema.safeParse(JSON.parse(m.value.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
