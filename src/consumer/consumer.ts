import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../core/log.js';
import { retry, retryPolicy } from '../core/retry.js';
import type { EventType, ForcehookEvent, Trigger } from '../events/schema.js';
import { createKafka, kafkaClientFromEnv, kafkaSecurityFromEnv, type KafkaClientName, type KafkaSecurity } from '../kafka/index.js';
import { topics } from '../kafka/topics.js';
import { nextOffset, type Batch, type ConsumedMessage, type KafkaClient } from '../kafka/types.js';
import { decodeEvent, typeFilter } from './decode.js';

export interface EventMeta {
  topic: string;
  partition: number;
  offset: string;
  /** `<orgId>:<recordId>`. */
  key: string | null;
  /** Kafka timestamp, epoch ms as a decimal string. */
  timestamp: string;
  headers: Record<string, string>;
  /** 1, then 2, 3, … while the handler keeps failing on this event in this process. */
  attempt: number;
  /** Aborted by `stop()`: a long handler should give up (the event is then read again later). */
  signal: AbortSignal;
}

export interface EventConsumerOptions {
  /** Bootstrap servers, `host:port`; a comma-separated string is accepted. */
  brokers: string | readonly string[];
  groupId: string;
  /** The service's `FORCEHOOK_TOPIC_PREFIX`. @default 'forcehook' (reads `forcehook.events`) */
  topicPrefix?: string;
  /** TLS and SASL to the brokers. @default read from KAFKA_SSL, KAFKA_SSL_CA_FILE and KAFKA_SASL_* like the service */
  security?: KafkaSecurity;
  /** Only these events reach the handler (`record.created` or `salesforce.record.created`); others are skipped and committed. @default all */
  types?: readonly (Trigger | EventType)[];
  /**
   * Resolving commits the event's offset; throwing retries the same event after a
   * backoff, without committing, until it succeeds or the consumer stops. Events of
   * one record arrive in order, so a failing event holds back later ones of its partition.
   */
  handler(event: ForcehookEvent, meta: EventMeta): void | Promise<void>;
  logger?: Logger;
  clientId?: string;
  /** Where a group without committed offsets starts. @default false (only new events) */
  fromBeginning?: boolean;
  /** Partitions handled in parallel, each still in order. @default 1 */
  partitionsConcurrently?: number;
  /** Backoff between handler attempts: doubling from `initialDelayMs` up to `maxDelayMs`, ±20 %. */
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** A message that is not a valid forcehook event: reported here (and logged), then skipped. */
  onInvalid?(reason: string, message: ConsumedMessage): void;
  /** Every handler failure, before its retry. */
  onError?(err: unknown, event: ForcehookEvent, meta: EventMeta): void;
  /** The Kafka client failed; with `restarting` false the consumer is gone and should be recreated. */
  onCrash?(err: Error, restarting: boolean): void;
  /** Longest wait of one fetch when the topic is idle. @default 1000 */
  maxWaitTimeMs?: number;
  /** Which Kafka client library to use. @default read from FORCEHOOK_KAFKA_CLIENT like the service */
  client?: KafkaClientName;
  /** An existing client to share (not closed by `stop`). */
  kafka?: KafkaClient;
}

export interface EventConsumer {
  readonly topic: string;
  readonly groupId: string;
  /** Lets the event in hand finish (or abort through its signal), commits what was handled, leaves the group. */
  stop(): Promise<void>;
}

/** Ends a handler's retries: the consumer stops, or the partition moved on. */
class Stopped extends Error {}

/** A heartbeat at least this often keeps the group membership while a handler is being retried. */
const HEARTBEAT_MS = 1_000;

/**
 * Reads `<prefix>.events` as a consumer group and calls `handler` with each
 * event, parsed by the cloudevents SDK and validated against the event schema.
 * At-least-once: an offset is committed only after the handler resolved for it
 * (and every event before it on that partition), so after a crash or a
 * rebalance some events are handled again: deduplicate on `event.id`.
 */
export async function createEventConsumer(opts: EventConsumerOptions): Promise<EventConsumer> {
  const logger = (opts.logger ?? createLogger({ name: 'forcehook-consumer' })).child({ groupId: opts.groupId });
  const topic = topics(opts.topicPrefix ?? 'forcehook').events;
  const wants = typeFilter(opts.types);
  const ownClient = opts.kafka === undefined;
  const brokers = typeof opts.brokers === 'string' ? opts.brokers : [...opts.brokers];
  // TLS and SASL as the service reads them (KAFKA_SSL, KAFKA_SASL_*), unless given here.
  const security = opts.security ?? kafkaSecurityFromEnv();
  const client =
    opts.kafka ??
    createKafka({
      brokers,
      clientId: opts.clientId ?? `forcehook-consumer-${opts.groupId}`,
      client: opts.client ?? kafkaClientFromEnv(),
      logger,
      ...security,
    });
  const consumer = client.consumer(opts.groupId, {
    maxWaitTimeMs: opts.maxWaitTimeMs ?? 1_000,
    ...(opts.onCrash ? { onCrash: opts.onCrash } : {}),
  });
  const stopping = new AbortController();
  const policy = retryPolicy({ initialDelayMs: opts.retry?.initialDelayMs ?? 500, multiplier: 2, maxDelayMs: opts.retry?.maxDelayMs ?? 60_000, jitter: 0.2 });

  /** Sleeps `ms` while heartbeating; false once the consumer stops or the partition moved on. */
  async function backoff(ms: number, batch: Batch): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (stopping.signal.aborted || batch.isStale()) return false;
      try {
        await sleep(Math.min(HEARTBEAT_MS, until - Date.now()), undefined, { signal: stopping.signal });
      } catch {
        return false;
      }
      // Throws while the group rebalances: the batch is abandoned and read again from the committed offset.
      await batch.heartbeat();
    }
    return !stopping.signal.aborted && !batch.isStale();
  }

  /** true once the handler resolved for `event`; false if the consumer stopped first. */
  async function handle(event: ForcehookEvent, m: ConsumedMessage, batch: Batch, commitHandled: () => Promise<void>): Promise<boolean> {
    const metaFor = (attempt: number): EventMeta => ({
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      key: m.key,
      timestamp: m.timestamp,
      headers: m.headers,
      attempt,
      signal: stopping.signal,
    });
    let failed: unknown;
    try {
      // The handler is tried until it succeeds: the partition does not move past an event before.
      await retry(policy, async ({ attempt }) => opts.handler(event, metaFor(attempt)), {
        forever: true,
        retryIf: (err) => {
          failed = err;
          return !stopping.signal.aborted;
        },
        onRetry: (_err, attempt) => {
          logger.warn(
            { err: failed, eventId: event.id, type: event.type, partition: m.partition, offset: m.offset, attempt },
            'event handler failed; retrying',
          );
          opts.onError?.(failed, event, metaFor(attempt));
        },
        wait: async (delayMs) => {
          // What was handled before this event is durable before the wait: a crash now repeats only this one onward.
          await commitHandled();
          if (!(await backoff(delayMs, batch))) throw new Stopped();
        },
      });
      return true;
    } catch (err) {
      if (err instanceof Stopped || stopping.signal.aborted) return false;
      throw err;
    }
  }

  await consumer.subscribe([topic], { fromBeginning: opts.fromBeginning ?? false });
  await consumer.run({
    partitionsConcurrently: opts.partitionsConcurrently ?? 1,
    eachBatch: async (batch) => {
      let handled: string | undefined;
      const commitHandled = async () => {
        if (handled === undefined || batch.isStale()) return;
        const offset = handled;
        handled = undefined;
        try {
          await consumer.commit([{ topic: batch.topic, partition: batch.partition, offset }]);
        } catch (err) {
          // Not fatal: the events are handled again after the next rebalance, which at-least-once allows.
          logger.warn({ err, partition: batch.partition, offset }, 'offset commit failed');
        }
      };
      try {
        for (const m of batch.messages) {
          if (stopping.signal.aborted || batch.isStale()) return;
          // The type is a header (binary mode): skip unwanted events without parsing them.
          const headerType = m.headers['ce_type'];
          if (headerType !== undefined && !wants(headerType)) {
            handled = nextOffset(m.offset);
            continue;
          }
          const decoded = decodeEvent(m);
          if (!decoded.ok) {
            logger.warn({ partition: m.partition, offset: m.offset, reason: decoded.reason }, 'skipping a message that is not a valid forcehook event');
            opts.onInvalid?.(decoded.reason, m);
          } else if (wants(decoded.event.type) && !(await handle(decoded.event, m, batch, commitHandled))) {
            return;
          }
          handled = nextOffset(m.offset);
        }
      } finally {
        await commitHandled();
      }
    },
  });
  logger.info({ topic, types: opts.types ?? 'all' }, 'event consumer running');

  let stopped: Promise<void> | undefined;
  return {
    topic,
    groupId: opts.groupId,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await consumer.stop();
        if (ownClient) await client.close();
        logger.info('event consumer stopped');
      })();
      return stopped;
    },
  };
}
