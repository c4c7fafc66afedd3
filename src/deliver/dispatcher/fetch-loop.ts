import type { Batch, ConsumedMessage, TopicPartition } from '../../kafka/types.js';
import type { SubscriptionRecord } from '../../state/records.js';
import { fanOut, structuredEvent } from '../matcher/matcher.js';
import { decodeDelivery } from '../record.js';
import type { BackPressure } from './back-pressure.js';
import type { Commits } from './commits.js';
import type { DispatchContext, Item } from './context.js';
import type { Taken } from './offsets.js';
import type { Router } from './routing.js';
import type { WaitingRoom } from './waiting.js';

/** Subscriptions by connection id: an event is matched only against its own connection's (thousands of orgs). */
type SubscriptionIndex = Map<string, SubscriptionRecord[]>;

function indexSubscriptions(all: readonly SubscriptionRecord[]): SubscriptionIndex {
  const index: SubscriptionIndex = new Map();
  for (const s of all) {
    const list = index.get(s.connectionId);
    if (list) list.push(s);
    else index.set(s.connectionId, [s]);
  }
  return index;
}

export interface FetchLoopDeps {
  router: Router;
  waiting: WaitingRoom;
  backPressure: BackPressure;
  commits: Commits;
  /** The retry topics' names. */
  retryTopics: ReadonlySet<string>;
}

/**
 * The fetch loop: hand over, never wait. `eachBatch` takes each record once
 * (the offset tracker), fans events out to their subscriptions, keeps retry
 * records that are not due yet in the waiting room, routes the rest to their
 * lanes, and returns.
 */
export class FetchLoop {
  constructor(
    private readonly ctx: DispatchContext,
    private readonly d: FetchLoopDeps,
  ) {}

  readonly eachBatch = async (batch: Batch): Promise<void> => {
    const { deps } = this.ctx;
    if (!deps.onSubscriptionChange) this.d.router.recheckParked();
    const subscriptions = batch.topic === deps.topics.events ? indexSubscriptions(deps.subscriptions()) : undefined;
    let matched = 0;
    for (const m of batch.messages) matched += this.#take(m, subscriptions);
    if (matched) deps.metrics?.deliveriesMatched.inc(matched);
    this.d.waiting.armDueTimer();
    deps.metrics?.deliveryRetryBacklog.set(this.d.waiting.backlog());
    this.d.backPressure.check({ topic: batch.topic, partition: batch.partition });
    this.d.commits.schedule();
  };

  readonly revoked = (tps: TopicPartition[]): void => {
    for (const tp of tps) {
      this.ctx.tracker.reset(tp);
      this.d.waiting.forget(tp);
      this.d.backPressure.forget(tp);
      this.d.router.forget(tp);
    }
    this.d.router.dropRevoked();
    this.d.waiting.armDueTimer();
  };

  #take(m: ConsumedMessage, subscriptions: SubscriptionIndex | undefined): number {
    const { tracker, log } = this.ctx;
    const tp = { topic: m.topic, partition: m.partition };
    const taken = tracker.take(tp, m.offset);
    if (!taken) return 0;
    if (subscriptions) return this.#fanOutEvent(m, taken, subscriptions);
    const record = decodeDelivery(m);
    if (!record) {
      log.error({ ...tp, offset: m.offset }, 'not a delivery record; skipped');
      tracker.done(taken);
      return 0;
    }
    const item: Item = { taken, record, recordKey: record.recordKey };
    if (this.d.retryTopics.has(m.topic) && this.d.waiting.admit(tp, item)) return 0;
    this.d.router.route(item);
    return 0;
  }

  /**
   * An event's first attempts start here, without a hop through a topic: each
   * matching subscription's delivery goes straight to its lane. The event's
   * offset becomes committable once every one of them has a durable outcome,
   * exactly as a record of `<prefix>.deliveries` would.
   */
  #fanOutEvent(m: ConsumedMessage, taken: Taken, subscriptions: SubscriptionIndex): number {
    const { tracker, log, deps } = this.ctx;
    const event = structuredEvent(m);
    if (!event) {
      // Not a CloudEvent: nothing could ever deliver it. Loud, counted, skipped.
      log.error({ partition: m.partition, offset: m.offset }, 'message on the events topic is not a CloudEvent; skipped');
      deps.metrics?.deliveryUnmatchable.inc();
      tracker.done(taken);
      return 0;
    }
    const connectionId = (event.data as { connectionId?: unknown } | undefined)?.connectionId;
    const records = typeof connectionId === 'string' ? fanOut(event, subscriptions.get(connectionId) ?? []) : [];
    if (records.length === 0) {
      tracker.done(taken);
      return 0;
    }
    const share = records.length > 1 ? { left: records.length } : undefined;
    for (const record of records)
      this.d.router.route(share ? { taken, record, recordKey: record.recordKey, share } : { taken, record, recordKey: record.recordKey });
    return records.length;
  }
}
