/**
 * An in-memory implementation of forcehook's Kafka port (`src/kafka/types.ts`)
 * for unit tests: no broker, no child process, no timers of its own, so a test
 * can run the pipeline under fake timers.
 *
 * What it keeps of Kafka: topics with partitions (a key's partition is Kafka's
 * murmur2 hash), offsets in order per partition, consumer groups whose
 * committed offsets survive the consumer (a new consumer of the group resumes
 * there), batches handed over one at a time per partition, pause and resume, and
 * "a batch whose handler throws is read again". What it leaves out: replication,
 * retention and compaction, and rebalancing (each consumer owns every partition
 * of what it subscribed to; two live consumers of one group would both read).
 *
 * Batches are handed over from microtasks as soon as they exist, so a test waits
 * on outcomes with `vi.waitFor` or `vi.advanceTimersByTimeAsync`.
 */
import { ForcehookError } from '../../src/core/errors.js';
import type {
  Admin,
  Batch,
  ConsumedMessage,
  ConsumerOptions,
  GroupConsumer,
  KafkaClient,
  KafkaMessage,
  PartitionOffsets,
  Producer,
  ProducerOptions,
  RecordMetadata,
  RunOptions,
  TopicMessages,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from '../../src/kafka/types.js';
import { murmur2 } from '../../src/source/ownership.js';

export interface MemoryKafkaOptions {
  /** Partitions of a topic created without a count. @default 1 */
  defaultPartitions?: number;
  /** Stamps produced messages (CreateTime). @default Date.now */
  now?: () => number;
  /** Messages per batch at most. @default 500 */
  maxBatch?: number;
}

/** How long a partition waits before a batch whose handler threw is handed over again. */
const RETRY_BATCH_MS = 100;

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class MemoryKafka implements KafkaClient {
  readonly #logs = new Map<string, ConsumedMessage[][]>();
  readonly #committed = new Map<string, Map<string, string>>();
  readonly #waiters = new Set<() => void>();
  readonly #consumers = new Set<MemoryConsumer>();
  readonly #partitions: number;
  readonly #maxBatch: number;
  readonly now: () => number;

  constructor(opts: MemoryKafkaOptions = {}) {
    this.#partitions = opts.defaultPartitions ?? 1;
    this.#maxBatch = opts.maxBatch ?? 500;
    this.now = opts.now ?? Date.now;
  }

  // --- the port ---------------------------------------------------------------

  producer(opts: ProducerOptions = {}): Producer {
    const send = async (topic: string, messages: KafkaMessage[]): Promise<RecordMetadata[]> =>
      this.append(topic, messages, opts.allowAutoTopicCreation ?? false);
    return {
      send,
      sendBatch: async (batches: TopicMessages[]) => (await Promise.all(batches.map((b) => send(b.topic, b.messages)))).flat(),
      close: async () => undefined,
    };
  }

  consumer(groupId: string, opts: ConsumerOptions = {}): GroupConsumer {
    const c = new MemoryConsumer(this, groupId, opts, this.#maxBatch);
    this.#consumers.add(c);
    return c;
  }

  admin(): Admin {
    return {
      ensureTopics: async (specs: TopicSpec[]) => {
        for (const s of specs) this.createTopic(s.topic, s.partitions);
      },
      topicOffsets: async (topic: string): Promise<PartitionOffsets[]> =>
        this.#log(topic).map((p, partition) => ({ partition, low: '0', high: String(p.length) })),
      offsetsAtTime: async (topic: string, timestampMs: number) =>
        this.#log(topic).map((p, partition) => {
          const i = p.findIndex((m) => Number(m.timestamp) >= timestampMs);
          return { partition, offset: String(i === -1 ? p.length : i) };
        }),
      setGroupOffsets: async (groupId: string, topic: string, offsets: { partition: number; offset: string }[]) => {
        for (const o of offsets) this.commit(groupId, [{ topic, partition: o.partition, offset: o.offset }]);
      },
      deleteGroups: async (groupIds: string[]) => {
        for (const g of groupIds) this.#committed.delete(g);
      },
      groupOffsets: async (groupId: string, topics: string[]) =>
        topics.flatMap((topic) =>
          Array.from({ length: this.partitionsOf(topic) }, (_, partition) => ({ topic, partition, offset: this.committed(groupId, topic, partition) })).flatMap(
            (o) => (o.offset === undefined ? [] : [{ topic: o.topic, partition: o.partition, offset: o.offset }]),
          ),
        ),
      // Every consumer of a group here reads every partition (no assignment): each member has all of them.
      groupMembers: async (groupId: string) =>
        [...this.#consumers]
          .filter((c) => c.group === groupId)
          .map((c, i) => ({ memberId: `${groupId}-${i}`, clientId: 'memory', host: '127.0.0.1', assignment: c.assigned() })),
      ping: async () => undefined,
      close: async () => undefined,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.stop()));
  }

  // --- for the consumers and for tests ---------------------------------------

  /** Creates a topic if it does not exist yet; consumers subscribed to it start reading it. */
  createTopic(topic: string, partitions = this.#partitions): void {
    if (this.#logs.has(topic)) return;
    this.#logs.set(
      topic,
      Array.from({ length: partitions }, () => []),
    );
    this.changed();
  }

  hasTopic(topic: string): boolean {
    return this.#logs.has(topic);
  }

  partitionsOf(topic: string): number {
    return this.#logs.get(topic)?.length ?? 0;
  }

  /** Every message of a topic, partition by partition, in offset order. */
  messages(topic: string): ConsumedMessage[] {
    return (this.#logs.get(topic) ?? []).flat();
  }

  partitionLog(topic: string, partition: number): ConsumedMessage[] {
    return this.#log(topic)[partition] ?? [];
  }

  committed(groupId: string, topic: string, partition: number): string | undefined {
    return this.#committed.get(groupId)?.get(tpKey(topic, partition));
  }

  commit(groupId: string, offsets: TopicPartitionOffset[]): void {
    let g = this.#committed.get(groupId);
    if (!g) this.#committed.set(groupId, (g = new Map()));
    for (const o of offsets) g.set(tpKey(o.topic, o.partition), o.offset);
  }

  append(topic: string, messages: KafkaMessage[], autoCreate: boolean): RecordMetadata[] {
    if (!this.#logs.has(topic)) {
      if (!autoCreate) throw new ForcehookError('KAFKA', `unknown topic ${topic}`, { retriable: false });
      this.createTopic(topic);
    }
    const partitions = this.#log(topic);
    const firstOffset = new Map<number, string>();
    for (const m of messages) {
      const partition = m.key === null ? 0 : murmur2(m.key) % partitions.length;
      const log = partitions[partition]!;
      const offset = String(log.length);
      if (!firstOffset.has(partition)) firstOffset.set(partition, offset);
      log.push({ ...m, headers: { ...m.headers }, topic, partition, offset, timestamp: m.timestamp ?? String(this.now()) });
    }
    this.changed();
    return [...firstOffset].map(([partition, baseOffset]) => ({ topic, partition, baseOffset }));
  }

  /** Resolves at the next change (a message, a topic, a resume, a stop). */
  nextChange(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  changed(): void {
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  forget(c: MemoryConsumer): void {
    this.#consumers.delete(c);
  }

  #log(topic: string): ConsumedMessage[][] {
    const l = this.#logs.get(topic);
    if (!l) throw new ForcehookError('KAFKA', `unknown topic ${topic}`, { retriable: false });
    return l;
  }
}

class MemoryConsumer implements GroupConsumer {
  #topics: string[] = [];
  #fromBeginning = false;
  #running = false;
  #stopped = false;
  readonly #positions = new Map<string, number>();
  readonly #paused = new Set<string>();
  readonly #pumps = new Map<string, Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly kafka: MemoryKafka,
    private readonly groupId: string,
    private readonly opts: ConsumerOptions,
    private readonly maxBatch: number,
  ) {}

  get group(): string {
    return this.groupId;
  }

  assigned(): TopicPartition[] {
    return [...this.#pumps.keys()].map((k) => {
      const [topic, partition] = k.split('\u0000');
      return { topic: topic!, partition: Number(partition) };
    });
  }

  async subscribe(topics: string[], opts: { fromBeginning?: boolean } = {}): Promise<void> {
    this.#topics.push(...topics);
    this.#fromBeginning = opts.fromBeginning ?? false;
  }

  async run(opts: RunOptions): Promise<void> {
    if (this.#running) throw new ForcehookError('KAFKA', 'consumer already running');
    this.#running = true;
    this.#loop = this.#assignLoop(opts);
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (this.#stopped) throw new ForcehookError('KAFKA', 'consumer stopped: commit rejected', { retriable: true });
    this.kafka.commit(this.groupId, offsets);
  }

  pause(tps: TopicPartition[]): void {
    for (const tp of tps) this.#paused.add(tpKey(tp.topic, tp.partition));
  }

  resume(tps: TopicPartition[]): void {
    for (const tp of tps) this.#paused.delete(tpKey(tp.topic, tp.partition));
    this.kafka.changed();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.kafka.changed();
    await this.#loop;
    await Promise.all(this.#pumps.values());
    this.kafka.forget(this);
  }

  /** Starts a pump for every partition of the subscribed topics, including topics created later. */
  async #assignLoop(opts: RunOptions): Promise<void> {
    while (!this.#stopped) {
      const fresh: TopicPartition[] = [];
      for (const topic of this.#topics) {
        for (let partition = 0; partition < this.kafka.partitionsOf(topic); partition++) {
          const k = tpKey(topic, partition);
          if (this.#pumps.has(k)) continue;
          const committed = this.kafka.committed(this.groupId, topic, partition);
          const start = committed !== undefined ? Number(committed) : this.#fromBeginning ? 0 : this.kafka.partitionLog(topic, partition).length;
          this.#positions.set(k, start);
          this.#pumps.set(k, this.#pump({ topic, partition }, opts));
          fresh.push({ topic, partition });
        }
      }
      if (fresh.length) await this.opts.onAssigned?.(fresh);
      await this.kafka.nextChange();
    }
  }

  async #pump(tp: TopicPartition, opts: RunOptions): Promise<void> {
    const k = tpKey(tp.topic, tp.partition);
    while (!this.#stopped) {
      const log = this.kafka.partitionLog(tp.topic, tp.partition);
      const from = this.#positions.get(k)!;
      if (this.#paused.has(k) || from >= log.length) {
        await this.kafka.nextChange();
        continue;
      }
      const messages = log.slice(from, from + this.maxBatch);
      this.#positions.set(k, from + messages.length);
      const batch: Batch = {
        ...tp,
        messages,
        highWatermark: String(log.length),
        heartbeat: async () => undefined,
        isStale: () => this.#stopped,
      };
      try {
        await opts.eachBatch(batch);
      } catch {
        // Read again from where the batch started, after a backoff (fake timers move it).
        this.#positions.set(k, from);
        await new Promise((resolve) => setTimeout(resolve, RETRY_BATCH_MS));
      }
    }
  }
}
