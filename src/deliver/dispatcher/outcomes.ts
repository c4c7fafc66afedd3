import { retry, retryPolicy } from '../../core/retry.js';
import { encodeDelivery, type DeliveryRecord } from '../record.js';
import type { DispatchContext, Item } from './context.js';
import { defer } from './plan.js';

const produceForever = retryPolicy({ maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 200, maxDelayMs: 10_000 });

/**
 * Producing outcomes: a record on a retry topic or a dead letter. Each is
 * durable once Kafka acknowledged it; until then it is produced again, until
 * stop (then the offset stays uncommitted and the record is read again).
 */
export class Outcomes {
  constructor(
    private readonly ctx: DispatchContext,
    private readonly durable: (item: Item) => void,
  ) {}

  /** Resolves once Kafka has the record; retries until then or until stop (then the offset stays uncommitted). */
  produce(topic: string, record: DeliveryRecord, extraHeaders: Record<string, string> = {}): Promise<void> {
    const { ctx } = this;
    return retry(
      produceForever,
      async () => {
        const msg = encodeDelivery(record);
        await ctx.producer!.send(topic, [{ ...msg, headers: { ...msg.headers, ...extraHeaders } }]);
      },
      { signal: ctx.stopping, onRetry: (err, n) => ctx.log.warn({ err: err.message, topic, attempt: n }, 'producing a delivery outcome failed; retrying') },
    );
  }

  async deadLetter(item: Item, record: DeliveryRecord, reason: string): Promise<void> {
    const { deps, log } = this.ctx;
    await this.produce(deps.topics.dlq, record, { 'fh-dead-reason': reason });
    deps.keeper.deadLettered(record.subscriptionId);
    deps.metrics?.deliveryDeadLettered.inc({ reason });
    const ids = (record.event.data ?? {}) as { connectionId?: string; orgId?: string };
    log.info(
      {
        subscriptionId: record.subscriptionId,
        connectionId: ids.connectionId,
        orgId: ids.orgId,
        eventId: record.event.id,
        attempts: record.attempts,
        reason,
        error: record.lastError,
      },
      'delivery dead-lettered',
    );
    this.durable(item);
  }

  /** To the first retry tier without an attempt; durable once Kafka has it. */
  defer(item: Item): void {
    const d = defer(item.record, this.ctx.schedule, this.ctx.clock.now());
    void this.produce(this.ctx.deps.topics.retry(d.tier), d.record)
      .then(() => this.durable(item))
      .catch(() => undefined);
  }
}
