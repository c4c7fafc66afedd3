/**
 * The matcher: `<prefix>.events` → one delivery record per matching
 * subscription on `<prefix>.deliveries`. It never talks to a destination, so
 * its pace is Kafka's: a dead endpoint cannot slow it down. An events offset
 * is committed only after every delivery record made from the messages before
 * it was acknowledged by Kafka (acks=all), so a crash re-matches rather than
 * loses; the dispatcher's outcomes are idempotent per (subscription, event id).
 */
import { z } from 'zod';
import type { Logger } from '../../core/log.js';
import { matches } from '../../detect/match.js';
import type { Trigger } from '../../events/schema.js';
import { nextOffset, type Batch, type GroupConsumer, type KafkaClient, type Producer, type TopicPartitionOffset } from '../../kafka/types.js';
import type { Metrics } from '../../observability/metrics.js';
import { fromKafkaMessage } from '../../publish/message.js';
import type { SubscriptionRecord } from '../../state/records.js';
import { encodeDelivery, type DeliveryRecord } from '../record.js';
import type { StructuredEvent } from '../types.js';

export const MatcherConfigSchema = z
  .object({
    eventsTopic: z.string().min(1),
    deliveriesTopic: z.string().min(1),
    groupId: z.string().min(1).describe('consumer group, `<prefix>.matcher`'),
    partitionsConcurrently: z.number().int().min(1).default(4),
  })
  .strict();
export type MatcherConfig = z.input<typeof MatcherConfigSchema>;

export interface MatcherDeps {
  kafka: KafkaClient;
  /** Current subscriptions (every instance holds all of them). */
  subscriptions(): SubscriptionRecord[];
  logger: Logger;
  metrics?: Metrics;
}

export interface Matcher {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The event as a destination receives it, or undefined for a message that is not one. */
export function structuredEvent(m: Parameters<typeof fromKafkaMessage>[0]): StructuredEvent | undefined {
  const fast = binaryJsonEvent(m);
  if (fast) return fast;
  return sdkStructuredEvent(m);
}

/** Through the cloudevents SDK: any mode it knows (the reference for `binaryJsonEvent`). */
export function sdkStructuredEvent(m: Parameters<typeof fromKafkaMessage>[0]): StructuredEvent | undefined {
  try {
    const ce = fromKafkaMessage(m);
    const json = ce.toJSON() as Record<string, unknown>;
    if (json.data === undefined && m.value) json.data = JSON.parse(m.value.toString('utf8'));
    return json as StructuredEvent;
  } catch {
    return undefined;
  }
}

/** Attributes the SDK maps from `ce_*` headers; any other `ce_*` header is an extension. */
const KNOWN_CE_HEADERS = new Set(['ce_id', 'ce_type', 'ce_source', 'ce_specversion', 'ce_time', 'ce_subject', 'ce_datacontenttype', 'ce_dataschema']);

/**
 * The binary-mode JSON messages the publisher writes, read without the SDK's
 * CloudEvent object (constructed, frozen, then copied by toJSON: it showed in the
 * matcher's profile). Same attributes, same key order, same time normalization
 * as `sdkStructuredEvent` (matcher.unit.test.ts compares them byte for byte), so
 * the webhook body does not change. Anything else (structured mode, non-JSON
 * data, no time) returns undefined and takes the SDK path.
 */
function binaryJsonEvent(m: Parameters<typeof fromKafkaMessage>[0]): StructuredEvent | undefined {
  const h = m.headers;
  if (!h.ce_id || !h.ce_time || !m.value || !h['content-type']?.startsWith('application/json')) return undefined;
  let data: unknown;
  let time: string;
  try {
    data = JSON.parse(m.value.toString('utf8'));
    time = new Date(h.ce_time).toISOString();
  } catch {
    return undefined;
  }
  const ev: Record<string, unknown> = { id: h.ce_id, time };
  if (h.ce_type) ev.type = h.ce_type;
  if (h.ce_source) ev.source = h.ce_source;
  ev.specversion = h.ce_specversion || '1.0';
  const dct = h.ce_datacontenttype || h['content-type'];
  if (dct) ev.datacontenttype = dct;
  if (h.ce_subject) ev.subject = h.ce_subject;
  if (h.ce_dataschema) ev.dataschema = h.ce_dataschema;
  ev.data = data;
  let keyed = false;
  for (const name in h) {
    if (!name.startsWith('ce_') || KNOWN_CE_HEADERS.has(name)) continue;
    const attr = name.slice(3);
    if (attr === 'partitionkey') {
      keyed = true;
      if (m.key !== null) ev.partitionkey = m.key;
    } else ev[attr] = h[name];
  }
  if (!keyed && m.key !== null) ev.partitionkey = m.key;
  return ev as StructuredEvent;
}

interface MatchableData {
  connectionId: string;
  orgId: string;
  recordId: string;
  object: string;
  changedFields: string[];
  campaignId?: string;
}

/** Pure: the delivery records one event yields. */
export function fanOut(event: StructuredEvent, subscriptions: readonly SubscriptionRecord[]): DeliveryRecord[] {
  const data = event.data as MatchableData | undefined;
  if (!data || typeof data !== 'object') return [];
  const out: DeliveryRecord[] = [];
  for (const s of subscriptions) {
    if (s.connectionId !== data.connectionId) continue;
    const filter = { trigger: s.trigger as Trigger, ...(s.object ? { object: s.object } : {}), ...(s.campaignId ? { campaignId: s.campaignId } : {}), ...(s.fields ? { fields: s.fields } : {}) };
    if (!matches(filter, { type: event.type as never, data: { ...data, changedFields: data.changedFields ?? [] } as never })) continue;
    out.push({ v: 1, subscriptionId: s.id, recordKey: `${data.orgId}:${data.recordId}`, event, attempts: 0, origin: 'match' });
  }
  return out;
}

export function createMatcher(cfg: MatcherConfig, deps: MatcherDeps): Matcher {
  const c = MatcherConfigSchema.parse(cfg);
  const log = deps.logger.child({ component: 'matcher' });
  let consumer: GroupConsumer | undefined;
  let producer: Producer | undefined;

  async function eachBatch(batch: Batch): Promise<void> {
    const subscriptions = deps.subscriptions();
    const records: DeliveryRecord[] = [];
    for (const m of batch.messages) {
      const event = structuredEvent(m);
      if (!event) {
        // Not a CloudEvent: nothing could ever deliver it. Loud, counted, skipped.
        log.error({ partition: m.partition, offset: m.offset }, 'message on the events topic is not a CloudEvent; skipped');
        deps.metrics?.deliveryUnmatchable.inc();
        continue;
      }
      records.push(...fanOut(event, subscriptions));
    }
    if (records.length) await producer!.send(c.deliveriesTopic, records.map(encodeDelivery));
    deps.metrics?.deliveriesMatched.inc(records.length);
    const last = batch.messages[batch.messages.length - 1]!;
    // Durable now (acks=all): the position may be committed. Not awaited here:
    // a commit round trip per batch held the partition's next fetch back (one
    // more round trip of latency for every event) and made many tiny commits;
    // positions are coalesced and committed by one loop, one request at a time.
    toCommit.set(`${batch.topic}\u0000${batch.partition}`, { topic: batch.topic, partition: batch.partition, offset: nextOffset(last.offset) });
    committing ??= commitLoop().finally(() => {
      committing = undefined;
    });
  }

  const toCommit = new Map<string, TopicPartitionOffset>();
  let committing: Promise<void> | undefined;
  async function commitLoop(): Promise<void> {
    while (toCommit.size > 0 && consumer) {
      const offsets = [...toCommit.values()];
      toCommit.clear();
      try {
        await consumer.commit(offsets);
      } catch (err) {
        // Lost a partition in a rebalance: its new owner re-matches from the last
        // commit; the duplicates are the same (subscription, event id) deliveries.
        log.warn({ err, partitions: offsets.map((o) => o.partition) }, 'matcher commit failed; those batches will be matched again');
      }
    }
  }

  return {
    async start() {
      producer = deps.kafka.producer();
      consumer = deps.kafka.consumer(c.groupId, { maxWaitTimeMs: 200 });
      await consumer.subscribe([c.eventsTopic], { fromBeginning: true });
      await consumer.run({ eachBatch, partitionsConcurrently: c.partitionsConcurrently });
      log.info({ topic: c.eventsTopic }, 'matcher started');
    },
    async stop() {
      // Commits of positions already durable go out before the group is left.
      while (committing) await committing;
      await consumer?.stop().catch((err: unknown) => log.warn({ err }, 'matcher stop failed'));
      await producer?.close().catch(() => undefined);
    },
  };
}
