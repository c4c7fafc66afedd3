import { retry, retryPolicy } from '../../core/retry.js';
import type { KafkaMessage } from '../../kafka/types.js';
import { encodeAttempt, type AttemptEntry } from '../attempt-log.js';
import { encodeDelivery, type DeliveryRecord } from '../record.js';
import type { DispatchContext, Item } from './context.js';
import { defer } from './plan.js';

const produceForever = retryPolicy({ maxAttempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 200, maxDelayMs: 10_000 });

/** How long attempt-log entries gather before one batch is produced. */
const ATTEMPT_LOG_FLUSH_MS = 50;

/**
 * Producing outcomes: a record on a retry topic or a dead letter. Each is
 * durable once Kafka acknowledged it; until then it is produced again, until
 * stop (then the offset stays uncommitted and the record is read again).
 * Every attempt and dead letter is also written to the attempt log
 * (`attempt-log.ts`), batched and best-effort.
 */
export class Outcomes {
  #logged: KafkaMessage[] = [];
  #logTimer: unknown;
  #logWrites: Promise<void> = Promise.resolve();

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

  /** One entry of the attempt log; written with the others of the next few ms. */
  logAttempt(entry: AttemptEntry): void {
    this.#logged.push(encodeAttempt(entry));
    if (this.#logTimer !== undefined) return;
    this.#logTimer = this.ctx.clock.setTimeout(() => {
      this.#logTimer = undefined;
      void this.flushLog();
    }, ATTEMPT_LOG_FLUSH_MS);
  }

  /** Writes the gathered attempt-log entries (at stop: before the producer closes). */
  flushLog(): Promise<void> {
    if (this.#logTimer !== undefined) this.ctx.clock.clearTimeout(this.#logTimer);
    this.#logTimer = undefined;
    const batch = this.#logged;
    this.#logged = [];
    const { ctx } = this;
    this.#logWrites = this.#logWrites.then(async () => {
      if (batch.length === 0 || !ctx.producer) return;
      await ctx.producer.send(ctx.deps.topics.attempts, batch).catch((err: unknown) => {
        ctx.log.warn({ err, entries: batch.length }, 'writing the attempt log failed; those entries are missing from it');
      });
    });
    return this.#logWrites;
  }

  async deadLetter(item: Item, record: DeliveryRecord, reason: string): Promise<void> {
    const { deps, log } = this.ctx;
    await this.produce(deps.topics.dlq, record, { 'fh-dead-reason': reason });
    this.logAttempt({
      subscriptionId: record.subscriptionId,
      eventId: record.event.id,
      attempt: record.attempts,
      at: new Date(this.ctx.clock.now()).toISOString(),
      status: 'dead',
      durationMs: 0,
      ...(record.lastStatus !== undefined ? { responseStatus: record.lastStatus } : {}),
      error: `dead-lettered (${reason})${record.lastError ? `: ${record.lastError}` : ''}`,
    });
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
