import type { TopicSpec } from './types.js';

/**
 * Every topic name the service uses, in one place. Operators see these names,
 * so they are part of the product's face: change them only with a migration.
 */
export interface Topics {
  /** CloudEvents, key `<orgId>:<recordId>` (docs/api.md). */
  events: string;
  /** Compacted: connections and subscriptions, key `<kind>:<id>`. */
  state: string;
  /** Compacted: Salesforce replay ids / polling cursors, key per org and channel. */
  checkpoints: string;
  /** Delivery work and outcomes per subscription. */
  deliveries: string;
  /** One topic per retry delay, e.g. retry(300_000) → `<prefix>.retry.5m`. */
  retry(delayMs: number): string;
  /** Deliveries that exhausted the schedule: kept, never dropped. */
  dlq: string;
  /** The attempt log (one entry per attempt and per dead letter), key subscription id; kept `ATTEMPT_LOG_RETENTION_MS`. */
  attempts: string;
  /**
   * Never written: its partitions are what group `<prefix>.owners` hands out,
   * and a connection is followed by the holder of `murmur2(id) % partitions`.
   */
  assignments: string;
}

/** Kafka's rule for topic names (legal characters, at most 249 of them). */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function topics(prefix: string): Topics {
  return {
    events: `${prefix}.events`,
    state: `${prefix}.state`,
    checkpoints: `${prefix}.checkpoints`,
    deliveries: `${prefix}.deliveries`,
    retry: (delayMs) => `${prefix}.retry.${delayLabel(delayMs)}`,
    dlq: `${prefix}.dlq`,
    attempts: `${prefix}.attempts`,
    assignments: `${prefix}.assignments`,
  };
}

/** 5000 → '5s', 300000 → '5m', 7200000 → '2h'; odd values fall back to ms. */
export function delayLabel(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const DAY_MS = 86_400_000;

/** How long the attempt log keeps an entry (time-retained: it is a history, not a state). */
export const ATTEMPT_LOG_RETENTION_MS = 7 * DAY_MS;

/** Partitions of the assignments topic (orgs are hashed over them). */
export const ASSIGNMENT_PARTITIONS = 32;

/**
 * What `Admin.ensureTopics` should create for the service. Retry topics hold a
 * message for its whole delay, so they keep at least twice that and a day.
 */
export function topicSpecs(t: Topics, retryDelaysMs: readonly number[], partitions?: number): TopicSpec[] {
  const sized = (spec: TopicSpec): TopicSpec => (partitions === undefined ? spec : { ...spec, partitions });
  const retryTopics = [...new Set(retryDelaysMs)].map((ms) => sized({ topic: t.retry(ms), retentionMs: Math.max(2 * ms, DAY_MS) }));
  return [
    sized({ topic: t.events }),
    // One partition: the whole state is small and one log keeps it totally ordered.
    { topic: t.state, partitions: 1, compacted: true },
    { topic: t.checkpoints, partitions: 1, compacted: true },
    sized({ topic: t.deliveries }),
    ...retryTopics,
    // A dead letter is kept until someone deals with it.
    sized({ topic: t.dlq, retentionMs: -1 }),
    sized({ topic: t.attempts, retentionMs: ATTEMPT_LOG_RETENTION_MS }),
    // More partitions than instances, so each gets a share; fixed, as the hash depends on the count.
    { topic: t.assignments, partitions: ASSIGNMENT_PARTITIONS, retentionMs: 3_600_000 },
  ];
}
