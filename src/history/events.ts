/**
 * Recent and live events of `<prefix>.events` for operators: the filter both
 * share, the read back (`readNewest`), and one live tail per instance that any
 * number of streams listen to.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../core/log.js';
import { structuredEvent } from '../deliver/matcher/matcher.js';
import type { StructuredEvent } from '../deliver/types.js';
import type { Topics } from '../kafka/topics.js';
import type { ConsumedMessage, GroupConsumer, KafkaClient } from '../kafka/types.js';
import { murmur2 } from '../source/ownership.js';
import { readNewest, type ReadNewestResult } from './read-newest.js';

export const EventFilterSchema = z
  .object({
    connectionId: z.string().min(1).optional(),
    type: z.string().min(1).optional().describe('the CloudEvent type (`salesforce.record.created`) or the trigger (`record.created`)'),
    object: z.string().min(1).optional().describe('sObject API name, e.g. Lead'),
    recordId: z.string().min(1).optional(),
  })
  .strict();
export type EventFilter = z.infer<typeof EventFilterSchema>;

interface EventData {
  connectionId?: unknown;
  orgId?: unknown;
  object?: unknown;
  recordId?: unknown;
}

export function matchesFilter(e: StructuredEvent, f: EventFilter): boolean {
  const d = (e.data ?? {}) as EventData;
  if (f.connectionId !== undefined && d.connectionId !== f.connectionId) return false;
  if (f.type !== undefined && e.type !== f.type && e.type !== `salesforce.${f.type}`) return false;
  if (f.object !== undefined && typeof d.object === 'string' && d.object.toLowerCase() !== f.object.toLowerCase()) return false;
  if (f.object !== undefined && typeof d.object !== 'string') return false;
  if (f.recordId !== undefined && d.recordId !== f.recordId && e.subject !== f.recordId) return false;
  return true;
}

/** Most events read for one answer: a filter matching rarely gets `truncated` instead of a scan of the topic. */
export const EVENT_SCAN_LIMIT = 20_000;

export interface RecentEventsDeps {
  kafka: KafkaClient;
  topics: Topics;
  /** The org of a connection: with a record id, the one partition its events are on. */
  orgOf?(connectionId: string): string | undefined;
  groupPrefix: string;
}

export async function recentEvents(
  deps: RecentEventsDeps,
  f: EventFilter & { sinceMs?: number; untilMs?: number; limit: number },
): Promise<ReadNewestResult<StructuredEvent>> {
  const { connectionId, recordId } = f;
  const orgId = connectionId !== undefined && recordId !== undefined ? deps.orgOf?.(connectionId) : undefined;
  let partitions: number[] | undefined;
  if (orgId && recordId) {
    // Events are keyed `<orgId>:<recordId>`: one record's events share one partition.
    const admin = deps.kafka.admin();
    try {
      const count = (await admin.topicOffsets(deps.topics.events)).length;
      partitions = [murmur2(`${orgId}:${recordId}`) % count];
    } finally {
      await admin.close().catch(() => undefined);
    }
  }
  return readNewest(deps.kafka, {
    topic: deps.topics.events,
    ...(partitions ? { partitions } : {}),
    ...(f.sinceMs !== undefined ? { sinceMs: f.sinceMs } : {}),
    ...(f.untilMs !== undefined ? { untilMs: f.untilMs } : {}),
    limit: f.limit,
    scanLimit: EVENT_SCAN_LIMIT,
    groupPrefix: deps.groupPrefix,
    match: (m) => {
      const e = structuredEvent(m);
      return e && matchesFilter(e, f) ? e : undefined;
    },
  });
}

/**
 * The live tail: one consumer per instance, in a group of its own (so every
 * instance sees every event), started when the first listener comes and
 * stopped when the last one leaves. It starts at the end of the topic: a tail
 * shows what happens from now on; history is `recentEvents`.
 */
export class EventTail {
  readonly #listeners = new Set<(e: StructuredEvent) => void>();
  #consumer: GroupConsumer | undefined;
  #groupId: string | undefined;
  #starting: Promise<void> | undefined;

  constructor(private readonly deps: { kafka: KafkaClient; topics: Topics; groupPrefix: string; logger: Logger }) {}

  /** Resolves once the tail reads; returns the unsubscription. */
  async listen(listener: (e: StructuredEvent) => void): Promise<() => void> {
    this.#listeners.add(listener);
    this.#starting ??= this.#start().catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
    try {
      await this.#starting;
    } catch (err) {
      this.#listeners.delete(listener);
      throw err;
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) void this.stop();
    };
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  async #start(): Promise<void> {
    const groupId = `${this.deps.groupPrefix}.${randomUUID()}`;
    const consumer = this.deps.kafka.consumer(groupId, { maxWaitTimeMs: 200 });
    this.#consumer = consumer;
    this.#groupId = groupId;
    await consumer.subscribe([this.deps.topics.events], { fromBeginning: false });
    await consumer.run({
      eachBatch: async (batch) => {
        for (const m of batch.messages) this.#emit(m);
      },
      partitionsConcurrently: 4,
    });
  }

  #emit(m: ConsumedMessage): void {
    if (this.#listeners.size === 0) return;
    const e = structuredEvent(m);
    if (!e) return;
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.deps.logger.warn({ err }, 'an event tail listener failed');
      }
    }
  }

  async stop(): Promise<void> {
    const consumer = this.#consumer;
    const groupId = this.#groupId;
    this.#consumer = undefined;
    this.#groupId = undefined;
    this.#starting = undefined;
    if (!consumer || !groupId) return;
    await consumer.stop().catch(() => undefined);
    const admin = this.deps.kafka.admin();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}
