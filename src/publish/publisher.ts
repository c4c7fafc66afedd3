import { z } from 'zod';
import type { ForcehookEvent } from '../events/schema.js';
import type { Logger } from '../core/log.js';
import type { KafkaMessage, Producer } from '../kafka/types.js';
import type { Metrics } from '../observability/metrics.js';
import { toKafkaMessage } from './message.js';

export const PublisherConfigSchema = z
  .object({
    topic: z.string().min(1),
    /** Largest number of messages in one produce request. */
    maxBatch: z.number().int().min(1).default(2_000),
  })
  .strict();
export type PublisherConfig = z.input<typeof PublisherConfigSchema>;

export interface Publisher {
  /**
   * Resolves once Kafka acknowledged every one of `events` (acks=all). Only then
   * may the caller checkpoint the Salesforce position they came from.
   */
  publish(events: readonly ForcehookEvent[]): Promise<void>;
  /** Waits for everything queued so far. */
  flush(): Promise<void>;
}

interface Pending {
  messages: KafkaMessage[];
  events: readonly ForcehookEvent[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group-commit publisher: callers from many orgs queue their events; one produce
 * request is in flight at a time and the next one gathers everything queued
 * meanwhile. Under load that makes big batches without adding a linger delay
 * when idle, and one request in flight keeps per-key order without relying on
 * the client's in-flight settings.
 *
 * Why not a few requests in flight (for keys that differ)? It would not cut the
 * wait: kafkajs's idempotent producer takes a per-broker lock around each
 * produce request (maxInFlightRequests 1, see kafka/kafkajs/producer.ts), so a
 * second request would sit behind the first on that broker exactly as the
 * queue does here, only with a smaller batch, while a failed first request
 * could then be retried after a later one (out of order for the key). Requests
 * for partitions led by different brokers already go out in parallel inside
 * one `send`.
 */
export function createPublisher(cfg: PublisherConfig, deps: { producer: Producer; metrics?: Metrics; logger?: Logger; now?: () => number }): Publisher {
  const { topic, maxBatch } = PublisherConfigSchema.parse(cfg);
  const now = deps.now ?? Date.now;
  const queue: Pending[] = [];
  let inFlight: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (queue.length > 0 && (size === 0 || size + queue[0]!.messages.length <= maxBatch)) {
        const p = queue.shift()!;
        batch.push(p);
        size += p.messages.length;
      }
      try {
        await deps.producer.send(
          topic,
          batch.flatMap((p) => p.messages),
        );
        const ackedAt = now();
        for (const p of batch) {
          for (const e of p.events) deps.metrics?.publishLatency.observe(Math.max(0, ackedAt - e.data.commitTimestamp) / 1000);
          p.resolve();
        }
      } catch (err) {
        deps.logger?.warn({ err, messages: size }, 'publish failed');
        for (const p of batch) p.reject(err);
      }
    }
  };

  const kick = (): Promise<void> => {
    inFlight ??= drain().finally(() => {
      inFlight = undefined;
      // Something may have been queued between the loop's last check and now.
      if (queue.length > 0) void kick();
    });
    return inFlight;
  };

  return {
    publish(events) {
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ messages: events.map(toKafkaMessage), events, resolve, reject });
        void kick();
      });
    },
    async flush() {
      while (inFlight) await inFlight;
    },
  };
}
