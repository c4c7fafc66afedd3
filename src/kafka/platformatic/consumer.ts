import {
  Consumer as PltConsumer,
  consumerGroupChannel,
  type ClusterMetadata,
  type GroupAssignment,
  type GroupPartitionsAssigner,
  type GroupPartitionsAssignments,
} from '@platformatic/kafka';
import pLimit from 'p-limit';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Batch, ConsumedMessage, ConsumerOptions, GroupConsumer, RunOptions, TopicPartition } from '../types.js';
import { guarded, hasApiError, mapPlatformaticError } from './errors.js';
import type { PltBaseOptions } from './producer.js';

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
// A record batch whose attributes have this bit carries transaction markers, not messages.
const IS_CONTROL = 0b10_0000;
const EARLIEST = -2n;
const LATEST = -1n;
/** Pause before fetching a partition again after its eachBatch threw (the port's "after a backoff"). */
const BATCH_RETRY_MS = 1_000;
/** Pause after a failed fetch or rejoin. */
const FETCH_RETRY_MS = 500;
/** Per-fetch limits, as kafkajs's defaults: enough for a catch-up, bounded memory. */
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_BYTES_PER_PARTITION = 1024 * 1024;

/** What this member knows of one partition it owns. */
interface Owned {
  topic: string;
  partition: number;
  /** The next offset to fetch; undefined until read from the group's committed offsets. */
  position: bigint | undefined;
  /** Bumped when the partition is revoked or re-positioned: a batch of an older epoch is stale. */
  epoch: number;
  paused: boolean;
  /** Not fetched before this time (its last batch failed). */
  notBefore: number;
}

/** Rebalance hooks, one at a time, in event order (as with kafkajs). */
class HookQueue {
  private queue: Promise<void> = Promise.resolve();
  constructor(
    private readonly opts: ConsumerOptions,
    private readonly log: Logger,
  ) {}
  enqueue(hook: 'onAssigned' | 'onRevoked', tps: TopicPartition[]): Promise<void> {
    const fn = this.opts[hook];
    if (fn && tps.length) {
      this.queue = this.queue.then(async () => {
        try {
          await fn(tps);
        } catch (err) {
          this.log.error({ err, hook, partitions: tps }, 'kafka rebalance hook failed');
        }
      });
    }
    return this.queue;
  }
}

/** Wraps a port `assign` function as the client's partition assigner. */
function customAssigner(assign: NonNullable<ConsumerOptions['assign']>): GroupPartitionsAssigner {
  return (_current, members, topics, metadata: ClusterMetadata): GroupPartitionsAssignments[] => {
    const partitions = [...topics].flatMap((topic) =>
      Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, partition) => ({ topic, partition })),
    );
    const plan = assign([...members.keys()], partitions);
    return [...members.keys()].map((memberId) => {
      const assignments = new Map<string, GroupAssignment>();
      for (const tp of plan.get(memberId) ?? []) {
        const a = assignments.get(tp.topic) ?? { topic: tp.topic, partitions: [] };
        a.partitions.push(tp.partition);
        assignments.set(tp.topic, a);
      }
      return { memberId, assignments };
    });
  };
}

function toMessage(topic: string, partition: number, offset: bigint, timestamp: bigint, r: FetchedRecord): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers) if (k) headers[k.toString()] = v ? v.toString() : '';
  return {
    topic,
    partition,
    offset: offset.toString(),
    timestamp: timestamp.toString(),
    key: r.key ? r.key.toString('utf8') : null,
    value: r.value ?? null,
    headers,
  };
}

type FetchResponse = Awaited<ReturnType<PltConsumer['fetch']>>;
type FetchedRecord = NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>[number]['records'][number];

/**
 * A group consumer on @platformatic/kafka's group membership (join, sync,
 * heartbeats, commits), with its own fetch loop: the client's message stream
 * has no per-partition pause and no per-partition batches, which the port needs
 * (back-pressure per destination, one batch at a time per partition). As with
 * kafkajs, a fetch goes to each leader for every owned, unpaused partition, and
 * the next one starts once every batch of the last one was handled.
 */
export function createPlatformaticConsumer(base: PltBaseOptions, groupId: string, opts: ConsumerOptions, logger: Logger, onClose: () => void): GroupConsumer {
  const log = logger.child({ groupId });
  const consumer = new PltConsumer<Buffer, Buffer, Buffer, Buffer>({
    ...base,
    groupId,
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: opts.heartbeatIntervalMs ?? 3_000,
    // The time members get to rejoin when the group re-forms.
    rebalanceTimeout: Math.max(opts.sessionTimeoutMs ?? 30_000, 10_000),
    maxWaitTime: opts.maxWaitTimeMs ?? 5_000,
    autocommit: false,
    ...(opts.assign ? { partitionAssigner: customAssigner(opts.assign) } : {}),
  });
  const hooks = new HookQueue(opts, log);
  const owned = new Map<string, Owned>();
  let state: 'idle' | 'subscribed' | 'running' | 'stopped' = 'idle';
  let topics: string[] = [];
  let fromBeginning = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const poke = (): void => wake?.();

  // A confirmation dates from when its request was SENT (see the port): the
  // heartbeat's start event fires just before the request goes out, and a join
  // is confirmed by its SyncGroup, whose start the client traces.
  let heartbeatSentAt = 0;
  let syncSentAt = 0;
  const onSyncStart = (message: unknown): void => {
    const ctx = message as { client?: unknown; operation?: string };
    if (ctx.client === consumer && ctx.operation === 'syncGroup') syncSentAt = Date.now();
  };
  if (opts.onMembershipConfirmed) {
    consumerGroupChannel.start.subscribe(onSyncStart);
    consumer.on('consumer:heartbeat:start', () => {
      heartbeatSentAt = Date.now();
    });
    consumer.on('consumer:heartbeat:end', () => opts.onMembershipConfirmed?.(heartbeatSentAt || Date.now()));
  }

  consumer.on('consumer:group:rebalance', () => opts.onRebalancing?.());
  consumer.on('consumer:group:join', (payload) => {
    if (state === 'stopped') return;
    opts.onMembershipConfirmed?.(syncSentAt || Date.now());
    const next = new Map<string, TopicPartition>();
    for (const a of payload.assignments ?? []) for (const partition of a.partitions) next.set(tpKey(a.topic, partition), { topic: a.topic, partition });
    const revoked: TopicPartition[] = [];
    for (const [key, o] of owned) {
      if (next.has(key)) continue;
      o.epoch++;
      owned.delete(key);
      revoked.push({ topic: o.topic, partition: o.partition });
    }
    const assigned: TopicPartition[] = [];
    for (const [key, tp] of next) {
      if (owned.has(key)) continue;
      owned.set(key, { ...tp, position: undefined, epoch: 0, paused: pausedWhileUnowned.has(key), notBefore: 0 });
      assigned.push(tp);
    }
    void hooks.enqueue('onRevoked', revoked);
    void hooks.enqueue('onAssigned', assigned);
    poke();
  });

  // The client rejoins by itself after a rebalance; when that fails (the
  // coordinator is gone), membership is lost and this member rejoins once the
  // cluster answers again.
  consumer.on('error', (err: unknown) => {
    if (state !== 'running') return;
    const mapped = mapPlatformaticError(err, 'kafka consumer lost its group membership');
    log.error({ err: mapped }, 'kafka consumer crashed');
    void lostAll();
    opts.onCrash?.(mapped, true);
    void rejoin();
  });

  // pause() before the partition is assigned still applies once it is.
  const pausedWhileUnowned = new Set<string>();

  function lostAll(): Promise<void> {
    const revoked = [...owned.values()].map((o) => {
      o.epoch++;
      return { topic: o.topic, partition: o.partition };
    });
    owned.clear();
    return hooks.enqueue('onRevoked', revoked);
  }

  async function join(): Promise<void> {
    await guarded('kafka consumer join', () => consumer.joinGroup({}));
  }

  async function rejoin(): Promise<void> {
    while (state === 'running') {
      await sleep(FETCH_RETRY_MS);
      if (state !== 'running') return;
      try {
        await join();
        return;
      } catch (err) {
        log.warn({ err }, 'kafka consumer rejoin failed; retrying');
      }
    }
  }

  /** Positions of newly owned partitions: the group's committed offset, else the start or end of the log. */
  async function resolvePositions(): Promise<void> {
    const missing = [...owned.values()].filter((o) => o.position === undefined);
    if (missing.length === 0) return;
    const byTopic = new Map<string, number[]>();
    for (const o of missing) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o.partition]);
    const committed = await guarded('kafka committed offsets', () =>
      consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }),
    );
    const needReset = missing.filter((o) => (committed.get(o.topic)?.[o.partition] ?? -1n) < 0n);
    const reset = needReset.length
      ? await guarded('kafka list offsets', () =>
          consumer.listOffsets({ topics: [...new Set(needReset.map((o) => o.topic))], timestamp: fromBeginning ? EARLIEST : LATEST }),
        )
      : new Map<string, bigint[]>();
    for (const o of missing) {
      if (owned.get(tpKey(o.topic, o.partition)) !== o) continue;
      const c = committed.get(o.topic)?.[o.partition] ?? -1n;
      o.position = c >= 0n ? c : (reset.get(o.topic)?.[o.partition] ?? 0n);
    }
  }

  async function fetchOnce(runOpts: RunOptions, limit: ReturnType<typeof pLimit>): Promise<boolean> {
    await resolvePositions();
    const now = Date.now();
    const fetchable = [...owned.values()].filter((o) => !o.paused && o.position !== undefined && o.notBefore <= now);
    if (fetchable.length === 0) return false;
    const metadata = await guarded('kafka metadata', () => consumer.metadata({ topics }));
    const byLeader = new Map<number, Owned[]>();
    for (const o of fetchable) {
      const leader = metadata.topics.get(o.topic)?.partitions[o.partition]?.leader;
      if (leader === undefined || leader < 0) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), o]);
    }
    const handled = [...byLeader].map(async ([node, parts]) => {
      const epochs = new Map(parts.map((o) => [o, { epoch: o.epoch, position: o.position! }]));
      const idToTopic = new Map<string, string>();
      const request = new Map<
        string,
        {
          topicId: string;
          partitions: { partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }[];
        }
      >();
      for (const o of parts) {
        const topicId = metadata.topics.get(o.topic)!.id;
        idToTopic.set(topicId, o.topic);
        const entry = request.get(topicId) ?? { topicId, partitions: [] };
        entry.partitions.push({
          partition: o.partition,
          fetchOffset: o.position!,
          partitionMaxBytes: MAX_BYTES_PER_PARTITION,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        });
        request.set(topicId, entry);
      }
      let response: FetchResponse;
      try {
        response = await consumer.fetch({ node, topics: [...request.values()], maxWaitTime: opts.maxWaitTimeMs ?? 5_000, maxBytes: MAX_BYTES, minBytes: 1 });
      } catch (err) {
        if (hasApiError(err, 'OFFSET_OUT_OF_RANGE')) {
          // Retention removed what we were about to read: start again from the committed offset or the reset point.
          for (const o of parts) o.position = undefined;
          return;
        }
        throw err;
      }
      const work: Promise<void>[] = [];
      for (const t of response.responses) {
        const topic = idToTopic.get(t.topicId);
        if (!topic) continue;
        for (const p of t.partitions) {
          const o = owned.get(tpKey(topic, p.partitionIndex));
          const asked = o && epochs.get(o);
          // Paused while the fetch was under way: dropped, fetched again once resumed.
          if (!o || !asked || o.epoch !== asked.epoch || o.paused || !p.records?.length) continue;
          const messages: ConsumedMessage[] = [];
          let next = asked.position;
          for (const rb of p.records) {
            next = rb.firstOffset + BigInt(rb.lastOffsetDelta) + 1n;
            if (rb.attributes & IS_CONTROL) continue;
            for (const r of rb.records) {
              const offset = rb.firstOffset + BigInt(r.offsetDelta);
              if (offset < asked.position) continue;
              messages.push(toMessage(topic, p.partitionIndex, offset, rb.firstTimestamp + r.timestampDelta, r));
            }
          }
          if (messages.length === 0) {
            if (o.epoch === asked.epoch) o.position = next;
            continue;
          }
          const batch: Batch = {
            topic,
            partition: p.partitionIndex,
            messages,
            highWatermark: p.highWatermark.toString(),
            isStale: () => state === 'stopped' || owned.get(tpKey(topic, p.partitionIndex)) !== o || o.epoch !== asked.epoch,
            // The client heartbeats on its own timer; this only tells a long batch to stop when the group moved on.
            heartbeat: async () => {
              if (batch.isStale())
                throw new ForcehookError('KAFKA', `kafka heartbeat: ${topic}[${p.partitionIndex}] was revoked or sought`, { retriable: true });
            },
          };
          work.push(
            limit(async () => {
              try {
                await runOpts.eachBatch(batch);
                if (!batch.isStale()) o.position = next;
              } catch (err) {
                log.error({ err, topic, partition: p.partitionIndex }, 'kafka eachBatch failed; the batch is fetched again');
                o.notBefore = Date.now() + BATCH_RETRY_MS;
              }
            }),
          );
        }
      }
      await Promise.all(work);
    });
    await Promise.all(handled);
    return true;
  }

  async function fetchLoop(runOpts: RunOptions): Promise<void> {
    const limit = pLimit(Math.max(1, runOpts.partitionsConcurrently ?? 1));
    while (state === 'running') {
      let fetched: boolean;
      try {
        fetched = await fetchOnce(runOpts, limit);
      } catch (err) {
        if (state !== 'running') return;
        log.warn({ err: mapPlatformaticError(err) }, 'kafka fetch failed; retrying');
        consumer.clearMetadata();
        await sleep(FETCH_RETRY_MS);
        continue;
      }
      if (!fetched && state === 'running') {
        // Nothing to fetch (no assignment, all paused or backing off): wait for a change.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 200);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  const ensureNotStopped = (what: string): void => {
    if (state === 'stopped') throw new ForcehookError('KAFKA', `${what}: consumer ${groupId} is stopped`);
  };

  const setPaused = (tps: TopicPartition[], paused: boolean): void => {
    for (const { topic, partition } of tps) {
      const key = tpKey(topic, partition);
      const o = owned.get(key);
      if (o) o.paused = paused;
      if (paused) pausedWhileUnowned.add(key);
      else pausedWhileUnowned.delete(key);
    }
    if (!paused) poke();
  };

  return {
    async subscribe(list, subscribeOpts = {}) {
      ensureNotStopped('subscribe');
      topics = [...new Set([...topics, ...list])];
      fromBeginning = subscribeOpts.fromBeginning ?? false;
      consumer.topics.trackAll(...list);
      state = 'subscribed';
    },

    async run(runOpts) {
      if (state !== 'subscribed') throw new ForcehookError('KAFKA', `run: consumer ${groupId} must be subscribed (and not running)`);
      await join();
      state = 'running';
      loop = fetchLoop(runOpts);
    },

    async commit(offsets) {
      ensureNotStopped('commit');
      if (state !== 'running') throw new ForcehookError('KAFKA', `commit: consumer ${groupId} is not running`);
      if (offsets.length === 0) return;
      // The client would rejoin and commit anyway; a member commits only what it still owns.
      const notOwned = offsets.filter((o) => !owned.has(tpKey(o.topic, o.partition)));
      if (notOwned.length) {
        throw new ForcehookError('KAFKA', `kafka commit: ${notOwned.map((o) => `${o.topic}[${o.partition}]`).join(', ')} no longer owned by this member`, {
          retriable: false,
        });
      }
      await guarded('kafka commit', () =>
        consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) }),
      );
    },

    pause: (tps) => setPaused(tps, true),
    resume: (tps) => setPaused(tps, false),

    async stop() {
      if (state === 'stopped') return;
      const wasRunning = state === 'running';
      state = 'stopped';
      onClose();
      poke();
      consumerGroupChannel.start.unsubscribe(onSyncStart);
      // The batch in progress finishes first (its commit may still go out), then the member leaves the group.
      if (wasRunning) await loop?.catch(() => undefined);
      try {
        await guarded('kafka consumer stop', () => consumer.close(true) as unknown as Promise<void>);
      } finally {
        await lostAll();
      }
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
