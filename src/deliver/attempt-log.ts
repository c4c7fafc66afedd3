/**
 * The attempt log: one entry per delivery attempt (and one per dead letter) on
 * `<prefix>.attempts`, keyed by subscription id, so one subscription's history
 * is one partition and reading it never touches the others. The topic is
 * time-retained (`ATTEMPT_LOG_RETENTION_MS`): it answers "what happened lately",
 * while the counters in the delivery state and the DLQ itself are the durable
 * truth. Entries are written after the attempt, batched, and a failed write is
 * logged, not retried: the log observes deliveries, it never holds them up.
 */
import { z } from 'zod';
import type { ConsumedMessage, KafkaMessage } from '../kafka/types.js';

export const ATTEMPT_STATUSES = ['delivered', 'failed', 'dead'] as const;

export const AttemptEntrySchema = z.object({
  subscriptionId: z.string().min(1),
  eventId: z.string().min(1),
  /** 1 for the first attempt; a dead letter repeats the number of the last attempt made (0 if none was). */
  attempt: z.number().int().nonnegative(),
  at: z.iso.datetime(),
  status: z.enum(ATTEMPT_STATUSES),
  durationMs: z.number().nonnegative(),
  responseStatus: z.number().int().optional(),
  /** The executor's short error; for an HTTP answer it starts with the status and a snippet of the response. */
  error: z.string().optional(),
});
export type AttemptEntry = z.infer<typeof AttemptEntrySchema>;

export function encodeAttempt(e: AttemptEntry): KafkaMessage {
  return { key: e.subscriptionId, value: Buffer.from(JSON.stringify(e)), headers: { 'content-type': 'application/json' } };
}

export function decodeAttempt(m: Pick<ConsumedMessage, 'value'>): AttemptEntry | undefined {
  if (m.value === null) return undefined;
  try {
    const parsed = AttemptEntrySchema.safeParse(JSON.parse(m.value.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
