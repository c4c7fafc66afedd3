import type { TopicPartition, TopicPartitionOffset } from '../../kafka/types.js';

interface PartitionState {
  generation: number;
  /** Next offset `take` accepts: anything below was already taken (a re-fetch). */
  nextTake: bigint | undefined;
  /** Taken offsets in order, with whether their outcome is durable. */
  open: { offset: bigint; done: boolean }[];
  /** Position last handed out by `committable` (the next offset to read). */
  committed: bigint | undefined;
}

export interface Taken {
  tp: TopicPartition;
  offset: string;
  generation: number;
}

const keyOf = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/**
 * Out-of-order completion, in-order commits. Work on one partition finishes in
 * any order (per-subscription lanes, retries due at different times), but a
 * Kafka offset says "everything before me is done": so the commit position is
 * the end of the longest prefix of taken offsets whose outcomes are durable.
 *
 * A revoked partition gets a new generation: outcomes of its old work still
 * happen (at-least-once) but no longer move its commit position, which now
 * belongs to another member.
 */
export class OffsetTracker {
  readonly #parts = new Map<string, PartitionState & { tp: TopicPartition }>();

  #state(tp: TopicPartition): PartitionState & { tp: TopicPartition } {
    const k = keyOf(tp);
    let s = this.#parts.get(k);
    if (!s) {
      s = { tp: { topic: tp.topic, partition: tp.partition }, generation: 0, nextTake: undefined, open: [], committed: undefined };
      this.#parts.set(k, s);
    }
    return s;
  }

  /** undefined when `offset` was taken before (kafkajs re-fetches after a rejoin). */
  take(tp: TopicPartition, offset: string): Taken | undefined {
    const s = this.#state(tp);
    const o = BigInt(offset);
    if (s.nextTake !== undefined && o < s.nextTake) return undefined;
    s.nextTake = o + 1n;
    s.open.push({ offset: o, done: false });
    return { tp: s.tp, offset, generation: s.generation };
  }

  /** The outcome of `t` is durable. Returns false for work of a revoked generation. */
  done(t: Taken): boolean {
    const s = this.#state(t.tp);
    if (s.generation !== t.generation) return false;
    const o = BigInt(t.offset);
    // Taken in offset order, so sorted: a binary search (thousands open per partition in a backlog).
    let lo = 0;
    let hi = s.open.length - 1;
    let entry: { offset: bigint; done: boolean } | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = s.open[mid]!;
      if (e.offset === o) {
        entry = e;
        break;
      }
      if (e.offset < o) lo = mid + 1;
      else hi = mid - 1;
    }
    if (!entry) return false;
    entry.done = true;
    while (s.open[0]?.done) {
      const head = s.open.shift()!;
      s.committed = head.offset + 1n;
    }
    return true;
  }

  isCurrent(t: Taken): boolean {
    return this.#state(t.tp).generation === t.generation;
  }

  /** Taken but not yet durable, for back-pressure. */
  openCount(tp: TopicPartition): number {
    return this.#state(tp).open.length;
  }

  /** Positions that moved since the last call; call `acknowledge` once committed. */
  committable(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const s of this.#parts.values()) {
      if (s.committed !== undefined) out.push({ ...s.tp, offset: s.committed.toString() });
    }
    return out;
  }

  /** Forgets positions that were committed, unless they moved again meanwhile. */
  acknowledge(committed: TopicPartitionOffset[]): void {
    for (const c of committed) {
      const s = this.#parts.get(keyOf(c));
      if (s && s.committed?.toString() === c.offset) s.committed = undefined;
    }
  }

  /** The partition was revoked: its old work no longer counts. */
  reset(tp: TopicPartition): void {
    const s = this.#state(tp);
    s.generation++;
    s.nextTake = undefined;
    s.open = [];
    s.committed = undefined;
  }
}
