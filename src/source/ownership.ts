import type { Logger } from '../core/log.js';
import { StateMachine, type TransitionTable } from '../core/state-machine.js';
import type { GroupConsumer, KafkaClient, TopicPartition } from '../kafka/types.js';

/**
 * Which instance follows which org, decided by Kafka's consumer-group protocol
 * (the Connect model): every instance joins group `<prefix>.owners` on the
 * assignments topic; a connection belongs to partition
 * `murmur2(connectionId) % partitions`; an instance follows the connections of
 * the partitions it holds. Nothing is written to the topic: the group
 * coordinator is the only arbiter, so there is no election or lock of our own.
 *
 * At most one follower per org rests on two rules, because kafkajs (eager
 * protocol) tells the old owner what it lost only when the new assignment is
 * handed out, i.e. at the same moment the new owner learns what it gained:
 * - the old owner stops the lost partitions' orgs at once (they checkpoint);
 * - the new owner starts a gained partition only `handoverMs` later.
 * An owner that Kafka cannot confirm for `fenceAfterMs` (less than the session
 * timeout, after which the coordinator hands its partitions out) stops
 * following everything: a member cut off from Kafka but not from Salesforce
 * fences itself before anyone else may start.
 *
 * Per partition:
 *
 * | from      | to        | when                                                        |
 * |-----------|-----------|-------------------------------------------------------------|
 * | unowned   | handover  | assigned to this member                                     |
 * | handover  | owned     | `handoverMs` passed: the previous owner has stopped         |
 * | handover  | unowned   | revoked before the wait ended                               |
 * | owned     | unowned   | revoked (rebalance, consumer crash, leaving the group)      |
 * | owned     | fenced    | no confirmation from the coordinator for `fenceAfterMs`     |
 * | handover  | fenced    | same                                                        |
 * | fenced    | handover  | confirmed again (heartbeat or join): still ours, but the    |
 * |           |           | coordinator may have moved it meanwhile, so wait again      |
 * | fenced    | unowned   | revoked                                                     |
 */
export type PartitionState = 'unowned' | 'handover' | 'owned' | 'fenced';

export const PARTITION_TRANSITIONS: TransitionTable<PartitionState> = {
  unowned: ['handover'],
  handover: ['owned', 'unowned', 'fenced'],
  owned: ['unowned', 'fenced'],
  fenced: ['handover', 'unowned'],
};

export interface OwnershipChange {
  /** Partitions this instance may now follow. */
  gained: number[];
  /** Partitions this instance must stop following now. */
  lost: number[];
}

export interface OrgOwnershipOptions {
  client: KafkaClient;
  /** `<prefix>.assignments` */
  topic: string;
  /** `<prefix>.owners` */
  groupId: string;
  logger: Logger;
  /** Number of partitions of `topic` (read from the broker by the service). */
  partitions: number;
  /**
   * Applies a change; for `lost`, must resolve only once those orgs stopped
   * (their checkpoints written), within `handoverMs`.
   */
  onChange(change: OwnershipChange): Promise<void>;
  /** How long a new owner waits for the old one to stop. @default 3000 */
  handoverMs?: number;
  /**
   * After this long without a heartbeat the coordinator hands the member's partitions to the
   * others (config `kafka.ownersSessionTimeoutMs`). @default 30000
   */
  sessionTimeoutMs?: number;
  /** @default a tenth of the session timeout, between 500 and 2000 */
  heartbeatIntervalMs?: number;
  /** Stop following after this long without a confirmation. @default sessionTimeoutMs - 2000 */
  fenceAfterMs?: number;
  now?: () => number;
}

export interface OwnershipStatus {
  partitions: number;
  owned: number[];
  handover: number[];
  fenced: number[];
  /** Milliseconds since the coordinator last confirmed this member. */
  sinceConfirmedMs: number | null;
  rebalances: number;
  fences: number;
}

/**
 * Kafka's default partitioner hash (murmur2, Java-compatible, positive), so the
 * mapping is the one a producer keyed by connection id would use.
 */
export function murmur2(key: string): number {
  const data = Buffer.from(key, 'utf8');
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length % 4;
  const index = length & ~3;
  if (rest === 3) h ^= (data[index + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[index + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[index]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h & 0x7fffffff;
}

export function partitionOf(connectionId: string, partitions: number): number {
  return murmur2(connectionId) % partitions;
}

/**
 * Balanced rendezvous hashing: each partition goes to the member that scores it
 * highest, capped at ceil(P/M) per member. It depends only on the member ids, so
 * a join moves about P/M partitions (to the newcomer) and a leave moves only the
 * leaver's, where round robin over sorted member ids reshuffles most of them:
 * every moved partition costs its orgs a restart (API calls), so movement is the
 * thing to minimise.
 */
export function rendezvousAssign(memberIds: string[], partitions: TopicPartition[]): Map<string, TopicPartition[]> {
  const members = [...new Set(memberIds)].sort();
  const out = new Map<string, TopicPartition[]>(members.map((m) => [m, []]));
  if (members.length === 0) return out;
  const cap = Math.ceil(partitions.length / members.length);
  // Strongest preferences first, so a cap displaces the weakest claims, not whoever came last.
  const claims: { score: number; member: string; tp: TopicPartition }[] = [];
  for (const tp of partitions) {
    for (const member of members) claims.push({ score: murmur2(`${member}|${tp.topic}|${tp.partition}`), member, tp });
  }
  claims.sort((a, b) => b.score - a.score || (a.member < b.member ? -1 : 1));
  const taken = new Set<string>();
  for (const c of claims) {
    const key = `${c.tp.topic}|${c.tp.partition}`;
    const mine = out.get(c.member)!;
    if (taken.has(key) || mine.length >= cap) continue;
    taken.add(key);
    mine.push(c.tp);
  }
  return out;
}

export class OrgOwnership {
  readonly #opts: OrgOwnershipOptions;
  readonly #log: Logger;
  readonly #parts: StateMachine<PartitionState>[];
  readonly #timers = new Map<number, NodeJS.Timeout>();
  readonly #handoverMs: number;
  readonly #sessionTimeoutMs: number;
  readonly #fenceAfterMs: number;
  readonly #now: () => number;
  #consumer: GroupConsumer | undefined;
  #confirmedAt: number | undefined;
  #fenceTimer: NodeJS.Timeout | undefined;
  #rebalancingSince: number | undefined;
  /** Changes are applied one at a time, in order: a loss never overtakes the gain it undoes. */
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;
  #rebalances = 0;
  #fences = 0;

  constructor(opts: OrgOwnershipOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'ownership' });
    this.#handoverMs = opts.handoverMs ?? 3_000;
    // kafkajs's default: on 2 busy cores heartbeats can lag by seconds, and a fence that
    // fires on a healthy instance restarts its orgs for nothing.
    this.#sessionTimeoutMs = opts.sessionTimeoutMs ?? 30_000;
    this.#fenceAfterMs = opts.fenceAfterMs ?? this.#sessionTimeoutMs - 2_000;
    this.#now = opts.now ?? Date.now;
    this.#parts = Array.from({ length: opts.partitions }, (_, p) => {
      const sm = new StateMachine<PartitionState>(`ownership[${p}]`, PARTITION_TRANSITIONS, 'unowned');
      return sm;
    });
  }

  get partitions(): number {
    return this.#opts.partitions;
  }

  partitionOf(connectionId: string): number {
    return partitionOf(connectionId, this.#opts.partitions);
  }

  /** Whether this instance may follow the connection right now. */
  owns(connectionId: string): boolean {
    return !this.#stopped && this.#parts[this.partitionOf(connectionId)]!.state === 'owned';
  }

  status(): OwnershipStatus {
    const by = (s: PartitionState) => this.#parts.flatMap((sm, p) => (sm.state === s ? [p] : []));
    return {
      partitions: this.#opts.partitions,
      owned: by('owned'),
      handover: by('handover'),
      fenced: by('fenced'),
      sinceConfirmedMs: this.#confirmedAt === undefined ? null : this.#now() - this.#confirmedAt,
      rebalances: this.#rebalances,
      fences: this.#fences,
    };
  }

  /** Resolves once every queued change was applied. */
  idle(): Promise<void> {
    return this.#queue;
  }

  async start(): Promise<void> {
    const consumer = this.#opts.client.consumer(this.#opts.groupId, {
      sessionTimeoutMs: this.#sessionTimeoutMs,
      // Several heartbeats per fence window, so one late heartbeat alone never fences.
      heartbeatIntervalMs: this.#opts.heartbeatIntervalMs ?? Math.min(2_000, Math.max(500, Math.round(this.#sessionTimeoutMs / 10))),
      // Nothing is ever written: a short fetch wait only paces the heartbeats.
      maxWaitTimeMs: 500,
      assign: rendezvousAssign,
      onRebalancing: () => {
        this.#rebalancingSince ??= this.#now();
        this.#rebalances++;
      },
      onMembershipConfirmed: (sentAtMs) => this.#confirmed(sentAtMs),
      onAssigned: (tps) => this.#assigned(tps.map((tp) => tp.partition)),
      onRevoked: (tps) => this.#revoked(tps.map((tp) => tp.partition)),
      onCrash: (err, restarting) => this.#log.warn({ err: err.message, restarting }, 'ownership consumer crashed; its partitions were released'),
    });
    this.#consumer = consumer;
    await consumer.subscribe([this.#opts.topic], { fromBeginning: false });
    await consumer.run({ eachBatch: async () => undefined });
    this.#fenceTimer = setInterval(() => this.#checkFence(), Math.max(100, Math.min(1_000, this.#fenceAfterMs / 4))).unref();
  }

  /**
   * Leaves the group. Call after the orgs were stopped (so the next owner's
   * wait covers nothing still running); any partition still held is released.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    clearInterval(this.#fenceTimer);
    await this.#consumer?.stop().catch((err: unknown) => this.#log.warn({ err }, 'ownership consumer stop failed'));
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await this.#queue;
  }

  #confirmed(sentAtMs: number): void {
    // Never later than now, never earlier than what we already know.
    this.#confirmedAt = Math.max(this.#confirmedAt ?? 0, Math.min(sentAtMs, this.#now()));
    const fenced = this.#parts.flatMap((sm, p) => (sm.state === 'fenced' ? [p] : []));
    if (fenced.length > 0) {
      this.#log.warn({ partitions: fenced.length }, 'membership confirmed again after fencing: resuming after the handover wait');
      for (const p of fenced) this.#beginHandover(p);
    }
  }

  #assigned(partitions: number[]): void {
    const since = this.#rebalancingSince;
    this.#rebalancingSince = undefined;
    this.#log.info({ partitions, rebalanceMs: since === undefined ? null : this.#now() - since }, 'assignment partitions gained');
    for (const p of partitions) {
      const sm = this.#parts[p];
      if (sm && sm.state === 'unowned') this.#beginHandover(p);
    }
  }

  async #revoked(partitions: number[]): Promise<void> {
    this.#rebalancingSince = undefined;
    const lost: number[] = [];
    for (const p of partitions) {
      const sm = this.#parts[p];
      if (!sm || sm.state === 'unowned') continue;
      clearTimeout(this.#timers.get(p));
      this.#timers.delete(p);
      if (sm.state === 'owned') lost.push(p);
      sm.to('unowned');
    }
    this.#log.info({ partitions, stopping: lost.length }, 'assignment partitions revoked');
    if (lost.length > 0) await this.#apply({ gained: [], lost });
  }

  #beginHandover(p: number): void {
    const sm = this.#parts[p]!;
    sm.to('handover');
    clearTimeout(this.#timers.get(p));
    this.#timers.set(
      p,
      setTimeout(() => {
        this.#timers.delete(p);
        if (this.#stopped || sm.state !== 'handover') return;
        sm.to('owned');
        this.#gainedSoon(p);
      }, this.#handoverMs),
    );
  }

  /** Partitions whose waits end together start in one change (one pass over the connections). */
  #pendingGain: number[] = [];
  #gainedSoon(p: number): void {
    this.#pendingGain.push(p);
    if (this.#pendingGain.length > 1) return;
    queueMicrotask(() => {
      const gained = this.#pendingGain.filter((q) => this.#parts[q]!.state === 'owned');
      this.#pendingGain = [];
      if (gained.length > 0) void this.#apply({ gained, lost: [] });
    });
  }

  #checkFence(): void {
    if (this.#stopped || this.#confirmedAt === undefined) return;
    const silentMs = this.#now() - this.#confirmedAt;
    if (silentMs < this.#fenceAfterMs) return;
    const lost: number[] = [];
    for (const [p, sm] of this.#parts.entries()) {
      if (sm.state === 'owned') lost.push(p);
      if (sm.state === 'owned' || sm.state === 'handover') {
        clearTimeout(this.#timers.get(p));
        this.#timers.delete(p);
        sm.to('fenced');
      }
    }
    if (lost.length === 0) return;
    this.#fences++;
    this.#log.warn({ silentMs, partitions: lost.length }, 'Kafka has not confirmed this member in time: stopping every org before the session can expire');
    void this.#apply({ gained: [], lost });
  }

  #apply(change: OwnershipChange): Promise<void> {
    const run = this.#queue.then(() => this.#opts.onChange(change));
    this.#queue = run.catch((err: unknown) => this.#log.error({ err, change }, 'ownership change failed'));
    return this.#queue;
  }
}
