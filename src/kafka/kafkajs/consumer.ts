import { AssignerProtocol, type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage as KjsMessage, type PartitionAssigner } from 'kafkajs';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ConsumedMessage, ConsumerOptions, GroupConsumer, TopicPartition } from '../types.js';
import { guarded, mapKafkaError } from './errors.js';

function headerValue(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (Array.isArray(v)) return headerValue(v[v.length - 1]);
  return v === undefined ? undefined : v.toString();
}

export function fromKafkajsMessage(topic: string, partition: number, m: KjsMessage): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(m.headers ?? {})) {
    const v = headerValue(raw);
    if (v !== undefined) headers[name] = v;
  }
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key === null ? null : m.key.toString('utf8'),
    value: m.value,
    headers,
  };
}

type Assignment = Map<string, TopicPartition>;
const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

function assignmentOf(memberAssignment: Record<string, number[]>): Assignment {
  const out: Assignment = new Map();
  for (const [topic, partitions] of Object.entries(memberAssignment)) {
    for (const partition of partitions) out.set(tpKey({ topic, partition }), { topic, partition });
  }
  return out;
}

const minus = (a: Assignment, b: Assignment): TopicPartition[] => [...a].filter(([k]) => !b.has(k)).map(([, tp]) => tp);

const byTopic = (tps: TopicPartition[]): { topic: string; partitions: number[] }[] => {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of tps) grouped.set(topic, [...(grouped.get(topic) ?? []), partition]);
  return [...grouped].map(([topic, partitions]) => ({ topic, partitions }));
};

/**
 * Rebalance hooks on kafkajs. kafkajs has no "partitions revoked" callback: with
 * its eager protocol a member learns what it lost only from the next GROUP_JOIN
 * (or from its own crash/stop). So onRevoked runs AFTER the group re-formed,
 * when another member may already be reading those partitions, and a commit
 * for them fails (ILLEGAL_GENERATION / REBALANCE_IN_PROGRESS). Callers must
 * therefore tolerate re-processing (outcomes are idempotent), never rely on a
 * last commit in onRevoked. Hooks run one at a time, in event order.
 */
class RebalanceTracker {
  private owned: Assignment = new Map();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: ConsumerOptions,
    private readonly log: Logger,
  ) {}

  joined(memberAssignment: Record<string, number[]>): void {
    const next = assignmentOf(memberAssignment);
    const revoked = minus(this.owned, next);
    const assigned = minus(next, this.owned);
    this.owned = next;
    if (revoked.length) this.enqueue('onRevoked', revoked);
    if (assigned.length) this.enqueue('onAssigned', assigned);
  }

  lostAll(): Promise<void> {
    const revoked = [...this.owned.values()];
    this.owned = new Map();
    if (revoked.length) this.enqueue('onRevoked', revoked);
    return this.queue;
  }

  private enqueue(hook: 'onAssigned' | 'onRevoked', tps: TopicPartition[]): void {
    const fn = this.opts[hook];
    if (!fn) return;
    this.queue = this.queue.then(async () => {
      try {
        await fn(tps);
      } catch (err) {
        this.log.error({ err, hook, partitions: tps }, 'kafka rebalance hook failed');
      }
    });
  }
}

/** Wraps a port `assign` function as a kafkajs partition assigner. */
function customAssigner(assign: NonNullable<ConsumerOptions['assign']>): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'ForcehookAssigner',
    version: 0,
    async assign({ members, topics }) {
      const partitions = topics.flatMap((topic) => cluster.findTopicPartitionMetadata(topic).map((m) => ({ topic, partition: m.partitionId })));
      const plan = assign(
        members.map((m) => m.memberId),
        partitions,
      );
      return members.map(({ memberId }) => {
        const assignment: Record<string, number[]> = {};
        for (const tp of plan.get(memberId) ?? []) (assignment[tp.topic] ??= []).push(tp.partition);
        return { memberId, memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }) };
      });
    },
    protocol({ topics }) {
      return { name: 'ForcehookAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

export function createKafkajsConsumer(kafka: Kafka, groupId: string, opts: ConsumerOptions, logger: Logger, onClose: () => void): GroupConsumer {
  const log = logger.child({ groupId });
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    ...(opts.heartbeatIntervalMs ? { heartbeatInterval: opts.heartbeatIntervalMs } : {}),
    maxWaitTimeInMs: opts.maxWaitTimeMs ?? 5_000,
    // A crash after stop() (the broker went away mid-shutdown) must not bring the
    // consumer back: kafkajs would otherwise reconnect for ever on a stopped service.
    retry: { retries: 5, restartOnFailure: async () => state !== 'stopped' },
    ...(opts.assign ? { partitionAssigners: [customAssigner(opts.assign)] } : {}),
  });
  const rebalance = new RebalanceTracker(opts, log);
  let state: 'idle' | 'connected' | 'running' | 'stopped' = 'idle';

  // A confirmation dates from when its request was SENT: the coordinator reset
  // the member's session after that. Dated on arrival instead, a process frozen
  // with a heartbeat in flight would, on waking, read that old reply as fresh
  // and keep following orgs another member may own by now.
  const sentAt = { Heartbeat: 0, SyncGroup: 0 };
  if (opts.onMembershipConfirmed) {
    consumer.on(consumer.events.REQUEST, (e) => {
      const name = e.payload.apiName;
      if (name === 'Heartbeat' || name === 'SyncGroup') sentAt[name] = e.payload.sentAt;
    });
  }
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    opts.onMembershipConfirmed?.(sentAt.SyncGroup || Date.now());
    rebalance.joined(e.payload.memberAssignment);
  });
  if (opts.onMembershipConfirmed) consumer.on(consumer.events.HEARTBEAT, () => opts.onMembershipConfirmed?.(sentAt.Heartbeat || Date.now()));
  if (opts.onRebalancing) consumer.on(consumer.events.REBALANCING, () => opts.onRebalancing?.());
  consumer.on(consumer.events.CRASH, (e) => {
    // kafkajs disconnects before it restarts: whatever we owned is gone.
    void rebalance.lostAll();
    const err = mapKafkaError(e.payload.error, 'kafka consumer crashed');
    log.error({ err, restarting: e.payload.restart }, 'kafka consumer crashed');
    if (!e.payload.restart) state = 'stopped';
    opts.onCrash?.(err, e.payload.restart);
  });

  const ensureNotStopped = (what: string): void => {
    if (state === 'stopped') throw new ForcehookError('KAFKA', `${what}: consumer ${groupId} is stopped`);
  };

  return {
    async subscribe(topics, subscribeOpts = {}) {
      ensureNotStopped('subscribe');
      if (state === 'idle') {
        await guarded('kafka consumer connect', () => consumer.connect());
        state = 'connected';
      }
      await guarded('kafka subscribe', () => consumer.subscribe({ topics, fromBeginning: subscribeOpts.fromBeginning ?? false }));
    },

    async run(runOpts) {
      if (state !== 'connected') throw new ForcehookError('KAFKA', `run: consumer ${groupId} must be subscribed (and not running)`);
      await guarded('kafka consumer run', () =>
        consumer.run({
          // We commit only after an outcome is durable; kafkajs's auto-commit would
          // commit what was merely handed to us.
          autoCommit: false,
          // Auto-resolve moves only the in-memory fetch position past a batch that
          // returned normally; it commits nothing (autoCommit is off).
          eachBatchAutoResolve: true,
          partitionsConsumedConcurrently: runOpts.partitionsConcurrently ?? 1,
          eachBatch: async ({ batch, heartbeat, isStale }: EachBatchPayload) => {
            if (batch.messages.length === 0) return;
            await runOpts.eachBatch({
              topic: batch.topic,
              partition: batch.partition,
              highWatermark: batch.highWatermark,
              messages: batch.messages.map((m) => fromKafkajsMessage(batch.topic, batch.partition, m)),
              heartbeat: () => guarded('kafka heartbeat', heartbeat),
              isStale,
            });
          },
        }),
      );
      state = 'running';
    },

    async commit(offsets) {
      ensureNotStopped('commit');
      if (state !== 'running') throw new ForcehookError('KAFKA', `commit: consumer ${groupId} is not running`);
      if (offsets.length === 0) return;
      await guarded('kafka commit', () => consumer.commitOffsets(offsets));
    },

    pause(tps) {
      consumer.pause(byTopic(tps));
    },

    resume(tps) {
      consumer.resume(byTopic(tps));
    },

    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      onClose();
      // disconnect waits for the batch in progress, then leaves the group.
      await guarded('kafka consumer stop', () => consumer.disconnect());
      await rebalance.lostAll();
    },
  };
}
