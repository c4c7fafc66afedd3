import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { ForcehookError, TransientError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Admin, Batch, ConsumedMessage, GroupConsumer, KafkaClient, Producer } from './types.js';

export type ChangeListener<V> = (key: string, value: V | undefined) => void;

export interface CompactedStoreOptions<V> {
  client: KafkaClient;
  /** Created (compacted, 1 partition) if missing; refused if it exists uncompacted. */
  topic: string;
  /** Every record is checked with it; a record that fails is logged and skipped. */
  schema: z.ZodType<V>;
  logger: Logger;
  /** Shows up in the consumer group id, to tell instances apart in broker tools. */
  instanceId?: string;
  /** How long put/delete wait to see their own write come back. @default 30000 */
  writeTimeoutMs?: number;
}

interface Waiter {
  partition: number;
  offset: bigint;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A key → JSON map kept in a compacted topic, in the Kafka Connect style: the
 * log is the database, every instance holds the whole map in memory and follows
 * the log, so a write by any instance reaches all of them.
 *
 * Every instance reads the topic from the beginning, so it must not share
 * committed positions with anyone: its consumer group id is unique per store
 * instance and it never commits (kafkajs cannot assign partitions without a
 * group). An empty group without offsets is dropped by the broker on its own.
 *
 * `put`/`delete` resolve once the broker acknowledged the write AND this
 * instance has read it back from the log, so the local view is in log order
 * and a caller reads its own writes.
 */
export class CompactedStore<V> {
  private readonly values = new Map<string, V>();
  private readonly listeners = new Set<ChangeListener<V>>();
  /** Next offset to apply, per partition: replays below it are ignored. */
  private readonly positions = new Map<number, bigint>();
  private waiters: Waiter[] = [];
  private readonly log: Logger;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private consumer: GroupConsumer | undefined;
  private state: 'new' | 'starting' | 'started' | 'stopped' = 'new';

  constructor(private readonly opts: CompactedStoreOptions<V>) {
    this.log = opts.logger.child({ component: 'state-store', topic: opts.topic });
  }

  /** Resolves once everything written before the call has been read. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new ForcehookError('INTERNAL', `state store ${this.opts.topic} already started`);
    this.state = 'starting';
    try {
      await this.load();
    } catch (err) {
      // Leave nothing half-open, and let the caller retry start().
      await Promise.allSettled([this.consumer?.stop(), this.producer?.close(), this.admin?.close()]);
      this.consumer = this.producer = this.admin = undefined;
      this.state = 'new';
      throw err;
    }
    this.state = 'started';
    this.log.info({ keys: this.values.size }, 'state loaded');
  }

  private async load(): Promise<void> {
    const { client, topic } = this.opts;
    this.admin = client.admin();
    await this.admin.ensureTopics([{ topic, partitions: 1, compacted: true }]);
    const ends = await this.admin.topicOffsets(topic);
    this.producer = client.producer();

    let crashed: (err: Error) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => (crashed = reject));
    this.consumer = client.consumer(`forcehook-store.${topic}.${this.opts.instanceId ?? 'i'}.${randomUUID()}`, {
      // A stop waits out the fetch in flight: with kafkajs's 5 s an instance took 4 s longer to stop.
      // New records end a fetch at once anyway; this only bounds an idle one.
      maxWaitTimeMs: 1_000,
      onCrash: (err, restarting) => {
        if (!restarting) crashed(err);
      },
    });
    await this.consumer.subscribe([topic], { fromBeginning: true });
    await this.consumer.run({ eachBatch: (batch) => this.applyBatch(batch) });

    // The last record of a partition is never compacted away (the active segment
    // is not cleaned and a segment only rolls on append), so offset high-1 will
    // be seen whenever high > low.
    const caughtUp = Promise.all(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => this.waitFor(p.partition, BigInt(p.high) - 1n, Infinity)));
    await Promise.race([caughtUp, failed]);
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  /** A snapshot: later changes do not alter it. */
  entries(): [string, V][] {
    return [...this.values];
  }

  get size(): number {
    return this.values.size;
  }

  /**
   * Called for every change this instance applies, its own writes included, and
   * during `start` for the records that rebuild the state. `undefined` = deleted.
   * Returns the unsubscribe function.
   */
  onChange(listener: ChangeListener<V>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async put(key: string, value: V): Promise<void> {
    const checked = this.opts.schema.safeParse(value);
    if (!checked.success) throw new ValidationError(`invalid value for ${this.opts.topic} key ${key}`, checked.error.issues);
    await this.write(key, Buffer.from(JSON.stringify(value)));
  }

  async delete(key: string): Promise<void> {
    await this.write(key, null);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new ForcehookError('ABORTED', `state store ${this.opts.topic} stopped`));
    }
    this.waiters = [];
    await Promise.allSettled([this.consumer?.stop(), this.producer?.close(), this.admin?.close()]);
  }

  private async write(key: string, value: Buffer | null): Promise<void> {
    if (this.state !== 'started' || !this.producer) {
      throw new ForcehookError('INTERNAL', `state store ${this.opts.topic} is not started`);
    }
    const [meta] = await this.producer.send(this.opts.topic, [{ key, value, headers: {} }]);
    if (!meta) throw new ForcehookError('KAFKA', `no acknowledgement for ${this.opts.topic} key ${key}`);
    await this.waitFor(meta.partition, BigInt(meta.baseOffset), this.opts.writeTimeoutMs ?? 30_000);
  }

  private waitFor(partition: number, offset: bigint, timeoutMs: number): Promise<void> {
    if ((this.positions.get(partition) ?? 0n) > offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { partition, offset, resolve, reject, timer: undefined as unknown as NodeJS.Timeout };
      if (Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new TransientError('TIMEOUT', `${this.opts.topic}: write at ${partition}/${offset} is durable but was not read back within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  private async applyBatch(batch: Batch): Promise<void> {
    const from = this.positions.get(batch.partition) ?? 0n;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      // After a consumer restart kafkajs starts over (nothing is committed):
      // re-applying older records would briefly roll the view back.
      if (offset < from) continue;
      this.apply(m);
      this.positions.set(batch.partition, offset + 1n);
    }
    const position = this.positions.get(batch.partition) ?? 0n;
    this.waiters = this.waiters.filter((w) => {
      if (w.partition !== batch.partition || w.offset >= position) return true;
      clearTimeout(w.timer);
      w.resolve();
      return false;
    });
  }

  private apply(m: ConsumedMessage): void {
    const where = { key: m.key, partition: m.partition, offset: m.offset };
    if (m.key === null) {
      this.log.warn(where, 'state record without key skipped');
      return;
    }
    if (m.value === null) {
      if (this.values.delete(m.key)) this.emit(m.key, undefined);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(m.value.toString('utf8'));
    } catch (err) {
      this.log.warn({ ...where, err }, 'state record is not JSON; skipped');
      return;
    }
    const parsed = this.opts.schema.safeParse(json);
    if (!parsed.success) {
      this.log.warn({ ...where, issues: parsed.error.issues }, 'state record fails its schema; skipped');
      return;
    }
    this.values.set(m.key, parsed.data);
    this.emit(m.key, parsed.data);
  }

  private emit(key: string, value: V | undefined): void {
    for (const listener of this.listeners) {
      try {
        listener(key, value);
      } catch (err) {
        this.log.error({ err, key }, 'state change listener failed');
      }
    }
  }
}
