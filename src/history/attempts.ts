import { decodeAttempt, type AttemptEntry } from '../deliver/attempt-log.js';
import type { Topics } from '../kafka/topics.js';
import type { KafkaClient } from '../kafka/types.js';
import { murmur2 } from '../source/ownership.js';
import { readNewest, type ReadNewestResult } from './read-newest.js';

/** Most attempt-log entries read for one answer (entries are small; other subscriptions share the partition). */
export const ATTEMPT_SCAN_LIMIT = 100_000;

/** A subscription's latest attempts, newest first: one partition of the attempt log (it is keyed by subscription id). */
export async function recentAttempts(
  deps: { kafka: KafkaClient; topics: Topics; groupPrefix: string },
  q: { subscriptionId: string; status?: AttemptEntry['status']; eventId?: string; limit: number },
): Promise<ReadNewestResult<AttemptEntry>> {
  const admin = deps.kafka.admin();
  let partition: number;
  try {
    partition = murmur2(q.subscriptionId) % (await admin.topicOffsets(deps.topics.attempts)).length;
  } finally {
    await admin.close().catch(() => undefined);
  }
  return readNewest(deps.kafka, {
    topic: deps.topics.attempts,
    partitions: [partition],
    limit: q.limit,
    scanLimit: ATTEMPT_SCAN_LIMIT,
    groupPrefix: deps.groupPrefix,
    match: (m) => {
      if (m.key !== q.subscriptionId) return undefined;
      const e = decodeAttempt(m);
      if (!e || (q.status && e.status !== q.status) || (q.eventId && e.eventId !== q.eventId)) return undefined;
      return e;
    },
  });
}
