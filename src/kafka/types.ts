/**
 * The Kafka port of forcehook. The pipeline imports only this module; each client
 * library (kafkajs, @platformatic/kafka; see client-name.ts) implements it
 * in its own folder. Every error that leaves an implementation is a ForcehookError
 * with code 'KAFKA' or 'KAFKA_UNAVAILABLE' and an honest `retriable`.
 */

export interface KafkaMessage {
  /** Decides the partition (murmur2, Java-compatible), hence per-key order. */
  key: string | null;
  /** null is a tombstone on compacted topics. */
  value: Buffer | null;
  /** A header repeated on the wire keeps its last value. */
  headers: Record<string, string>;
  /** Milliseconds since the epoch, as a decimal string (Kafka's own format). */
  timestamp?: string;
}

export interface ConsumedMessage extends KafkaMessage {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * A position to commit: `offset` is the NEXT offset to read (Kafka semantics),
 * i.e. the last processed message's offset + 1. See `nextOffset`.
 */
export interface TopicPartitionOffset extends TopicPartition {
  offset: string;
}

export interface RecordMetadata extends TopicPartition {
  /** Offset of the first message of this request on that partition. */
  baseOffset: string;
}

export interface TopicMessages {
  topic: string;
  messages: KafkaMessage[];
}

export interface Producer {
  /**
   * Resolves only once every in-sync replica has the messages (acks=all): after
   * that, they survive a broker loss. Messages sharing a key keep their order.
   */
  send(topic: string, messages: KafkaMessage[]): Promise<RecordMetadata[]>;
  /** One request for several topics; same guarantee as `send`. */
  sendBatch(topicMessages: TopicMessages[]): Promise<RecordMetadata[]>;
  close(): Promise<void>;
}

export interface ProducerOptions {
  /** Whether producing to a missing topic creates it with broker defaults. @default false */
  allowAutoTopicCreation?: boolean;
}

export interface Batch {
  topic: string;
  partition: number;
  /** In offset order; never empty. */
  messages: ConsumedMessage[];
  /** The partition's high watermark when fetched: lag = highWatermark - (last offset + 1). */
  highWatermark: string;
  /** Keeps the group membership alive during long work; throws if the group is rebalancing. */
  heartbeat(): Promise<void>;
  /** True once this partition was sought/revoked: stop processing the rest of the batch. */
  isStale(): boolean;
}

export interface RunOptions {
  /**
   * Called once per fetched batch, one batch at a time per partition. If it
   * throws, the batch is fetched again (from the last position it reached) after
   * a backoff. Offsets are NOT committed by returning: call `commit`.
   */
  eachBatch(batch: Batch): Promise<void>;
  /** Partitions processed in parallel (each still in order). @default 1 */
  partitionsConcurrently?: number;
}

export interface GroupConsumer {
  /** Must be called before `run`. */
  subscribe(topics: string[], opts?: { fromBeginning?: boolean }): Promise<void>;
  /** Resolves once the consumer has started; batches then arrive in the background. */
  run(opts: RunOptions): Promise<void>;
  /**
   * The only way offsets are committed: auto-commit is off, so a message counts
   * as consumed only once its outcome is durable and the caller says so.
   */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  pause(tps: TopicPartition[]): void;
  resume(tps: TopicPartition[]): void;
  /** Leaves the group; later commits are rejected. */
  stop(): Promise<void>;
}

export interface ConsumerOptions {
  /** Partitions newly owned by this member, after a (re)join. */
  onAssigned?: (tps: TopicPartition[]) => void | Promise<void>;
  /**
   * Partitions this member no longer owns. Client-dependent timing: see the
   * implementation (kafkajs reports it only after the group re-formed).
   */
  onRevoked?: (tps: TopicPartition[]) => void | Promise<void>;
  /** The consumer failed; `restarting` says whether the client rejoins by itself. */
  onCrash?: (err: Error, restarting: boolean) => void;
  /**
   * The group started re-forming: what this member owns may move. Reported
   * before the rejoin completes (onAssigned/onRevoked follow once it did).
   */
  onRebalancing?: () => void;
  /**
   * The coordinator just confirmed this member (a heartbeat or a join
   * succeeded): until `sessionTimeoutMs` after `sentAtMs` (epoch ms, when the
   * confirming request was sent, a lower bound of when the coordinator reset
   * the session), no other member can have been given this member's
   * partitions. Owners use it to fence themselves.
   */
  onMembershipConfirmed?: (sentAtMs: number) => void;
  /**
   * Decides the assignment on the group leader instead of the client's default
   * (round robin), e.g. to move as few partitions as possible. Must be a pure
   * function of its input: every member runs the same code.
   */
  assign?: (memberIds: string[], partitions: TopicPartition[]) => Map<string, TopicPartition[]>;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /** @default 3000 */
  heartbeatIntervalMs?: number;
  /** Longest wait for new data per fetch. @default 5000 */
  maxWaitTimeMs?: number;
}

export interface TopicSpec {
  topic: string;
  /** Broker default when absent. */
  partitions?: number;
  /** cleanup.policy=compact: the topic keeps the last value per key. */
  compacted?: boolean;
  /** retention.ms */
  retentionMs?: number;
  /** Any other topic config, e.g. {'min.insync.replicas': '2'}. Wins over the fields above. */
  config?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** Log start offset. */
  low: string;
  /** Offset the next message will get. */
  high: string;
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
  assignment: TopicPartition[];
}

export interface Admin {
  /**
   * Creates missing topics, waits for their leaders; existing ones are left as
   * they are, except that a topic asked to be compacted but not compacted fails
   * (state written to it would be deleted by retention).
   */
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  /** Low and high watermark of each partition. */
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  /**
   * Per partition, the offset of the first message whose timestamp is >= `timestampMs`,
   * or the high watermark when there is none (Kafka ListOffsets by time).
   */
  offsetsAtTime(topic: string, timestampMs: number): Promise<{ partition: number; offset: string }[]>;
  /**
   * Sets a consumer group's committed positions (the group must have no active
   * members): a new group then starts reading exactly there.
   */
  setGroupOffsets(groupId: string, topic: string, offsets: { partition: number; offset: string }[]): Promise<void>;
  /** Deletes consumer groups without members (e.g. one-off readers). */
  deleteGroups(groupIds: string[]): Promise<void>;
  /** A consumer group's committed positions on these topics; partitions it never committed are left out. */
  groupOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]>;
  /** A consumer group's members and the partitions each was assigned (none when the group is empty). */
  groupMembers(groupId: string): Promise<GroupMember[]>;
  /** A fast round trip to the cluster (a few seconds at most); for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaClient {
  producer(opts?: ProducerOptions): Producer;
  consumer(groupId: string, opts?: ConsumerOptions): GroupConsumer;
  admin(): Admin;
  /** Closes everything this client created that is still open. */
  close(): Promise<void>;
}

/** The commit position after processing `offset`. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}
