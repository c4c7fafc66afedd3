/**
 * Sending events again, on request (`POST /v1/subscriptions/:id/redeliver`):
 * - `{dlq: true}`: the subscription's dead letters not redelivered before. The
 *   DLQ is an append-only log, so the delivery state remembers, per DLQ
 *   partition, up to where this subscription's letters were taken
 *   (`dlqFrom`); each letter is redelivered once per request that reaches it.
 * - `{from, to}`: the subscription's events in that time range, read from
 *   `<prefix>.events` by timestamp (Kafka ListOffsets by time) and matched
 *   against the subscription as it is now.
 * Both produce fresh delivery records (attempts 0) to `<prefix>.deliveries`:
 * the normal path, with its retries and DLQ. A disabled subscription is
 * re-activated: asking for delivery is the operator saying the endpoint is back.
 */
import type { Logger } from '../../core/log.js';
import { NotFoundError } from '../../core/errors.js';
import type { Topics } from '../../kafka/topics.js';
import type { KafkaClient } from '../../kafka/types.js';
import type { ServiceStore } from '../../state/store.js';
import { fanOut, structuredEvent } from '../matcher/matcher.js';
import { decodeDelivery, encodeDelivery, type DeliveryRecord } from '../record.js';
import { initialDeliveryState, type DeliveryStateKeeper } from '../state/keeper.js';
import type { Clock } from '../types.js';
import { readRange } from './read-range.js';

export interface Redeliverer {
  redeliverDlq(subscriptionId: string): Promise<number>;
  redeliverRange(subscriptionId: string, fromMs: number, toMs: number): Promise<number>;
}

export interface RedelivererDeps {
  kafka: KafkaClient;
  topics: Topics;
  store: ServiceStore;
  keeper: DeliveryStateKeeper;
  logger: Logger;
  clock: Clock;
  groupPrefix: string;
}

const CHUNK = 500;

export function createRedeliverer(deps: RedelivererDeps): Redeliverer {
  const log = deps.logger.child({ component: 'redeliver' });
  // One request per subscription at a time on this instance: two concurrent DLQ
  // redeliveries would both take the same letters.
  const chains = new Map<string, Promise<unknown>>();
  const serialized = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const run = (chains.get(id) ?? Promise.resolve()).catch(() => undefined).then(fn);
    chains.set(id, run);
    void run.finally(() => {
      if (chains.get(id) === run) chains.delete(id);
    });
    return run;
  };

  const enqueue = async (records: DeliveryRecord[]): Promise<void> => {
    const producer = deps.kafka.producer();
    try {
      for (let i = 0; i < records.length; i += CHUNK) {
        await producer.send(deps.topics.deliveries, records.slice(i, i + CHUNK).map(encodeDelivery));
      }
    } finally {
      await producer.close().catch(() => undefined);
    }
  };

  const reactivate = async (id: string, patch: { dlqFrom?: Record<string, string>; taken?: number }): Promise<void> => {
    await deps.keeper.flush();
    const base = deps.store.deliveryState(id) ?? initialDeliveryState(id, deps.clock.now());
    const { statusReason: _r, ...rest } = base;
    await deps.store.putDeliveryState({
      ...rest,
      status: 'active',
      consecutiveFailures: 0,
      ...(patch.dlqFrom ? { dlqFrom: patch.dlqFrom, dlqCount: Math.max(0, base.dlqCount - (patch.taken ?? 0)) } : {}),
      updatedAt: new Date(deps.clock.now()).toISOString(),
    });
  };

  const subscriptionOr404 = (id: string) => {
    const sub = deps.store.subscription(id);
    if (!sub) throw new NotFoundError(`subscription ${id} not found`);
    return sub;
  };

  return {
    redeliverDlq(id) {
      subscriptionOr404(id);
      return serialized(id, async () => {
        const admin = deps.kafka.admin();
        let ends;
        try {
          ends = await admin.topicOffsets(deps.topics.dlq);
        } finally {
          await admin.close().catch(() => undefined);
        }
        const from = deps.store.deliveryState(id)?.dlqFrom ?? {};
        const ranges = ends.map((p) => {
          const start = from[String(p.partition)];
          return { partition: p.partition, from: start !== undefined && BigInt(start) > BigInt(p.low) ? start : p.low, to: p.high };
        });
        const records: DeliveryRecord[] = [];
        await readRange(
          deps.kafka,
          deps.topics.dlq,
          ranges,
          (m) => {
            if (m.key !== id) return;
            const r = decodeDelivery(m);
            if (!r || r.subscriptionId !== id) return;
            records.push({ v: 1, subscriptionId: id, recordKey: r.recordKey, event: r.event, attempts: 0, origin: 'redeliver-dlq' });
          },
          { groupPrefix: deps.groupPrefix },
        );
        await enqueue(records);
        await reactivate(id, { dlqFrom: Object.fromEntries(ends.map((p) => [String(p.partition), p.high])), taken: records.length });
        log.info({ subscriptionId: id, count: records.length }, 'dead letters redelivered');
        return records.length;
      });
    },

    redeliverRange(id, fromMs, toMs) {
      subscriptionOr404(id);
      return serialized(id, async () => {
        const sub = subscriptionOr404(id);
        const admin = deps.kafka.admin();
        let starts, ends;
        try {
          [starts, ends] = await Promise.all([admin.offsetsAtTime(deps.topics.events, fromMs), admin.offsetsAtTime(deps.topics.events, toMs)]);
        } finally {
          await admin.close().catch(() => undefined);
        }
        const endOf = new Map(ends.map((e) => [e.partition, e.offset]));
        const ranges = starts.map((s) => ({ partition: s.partition, from: s.offset, to: endOf.get(s.partition) ?? s.offset }));
        const records: DeliveryRecord[] = [];
        await readRange(
          deps.kafka,
          deps.topics.events,
          ranges,
          (m) => {
            const ts = Number(m.timestamp);
            if (ts < fromMs || ts >= toMs) return;
            const event = structuredEvent(m);
            if (!event) return;
            for (const r of fanOut(event, [sub])) records.push({ ...r, origin: 'redeliver-range' });
          },
          { groupPrefix: deps.groupPrefix },
        );
        await enqueue(records);
        await reactivate(id, {});
        log.info({ subscriptionId: id, count: records.length, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() }, 'events redelivered');
        return records.length;
      });
    },
  };
}
