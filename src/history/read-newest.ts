/**
 * Reading a topic backwards: the newest `limit` messages that pass a filter,
 * newest first, without scanning the whole topic. The window is found by time
 * (Kafka ListOffsets: `since` and `until` become offsets per partition), then
 * read from its end backwards in growing steps, each step one bounded read of
 * every partition's next older slice. It stops as soon as `limit` matches are
 * certain to be the newest (no partition still holds unread messages newer
 * than them), at the window's start, or after `scanLimit` messages (then the
 * answer says `truncated`: narrow the filter or the time range).
 */
import type { ConsumedMessage, KafkaClient } from '../kafka/types.js';
import { readRange, type PartitionRange } from '../deliver/redeliver/read-range.js';

export interface ReadNewestOptions<T> {
  topic: string;
  /** Only these partitions (e.g. the one a key hashes to); all when absent. */
  partitions?: readonly number[];
  sinceMs?: number;
  untilMs?: number;
  limit: number;
  /** Most messages read for one answer. */
  scanLimit: number;
  /** The message's value when it passes the filter, else undefined. */
  match(m: ConsumedMessage): T | undefined;
  /** Prefix of the one-off consumer groups used for the reads. */
  groupPrefix: string;
  /** Messages per partition in the first step (doubles each step). */
  firstStep?: number;
}

export interface ReadNewestResult<T> {
  items: T[];
  /** The scan limit was reached before the window's start: older matches may exist. */
  truncated: boolean;
  scanned: number;
}

interface Cursor {
  partition: number;
  /** The window's first offset. */
  start: bigint;
  /** Everything from here on was read. */
  readFrom: bigint;
  /** Timestamp of the oldest message read so far (newer unread messages cannot exist in this partition). */
  oldestRead: number;
}

export async function readNewest<T>(kafka: KafkaClient, opts: ReadNewestOptions<T>): Promise<ReadNewestResult<T>> {
  const admin = kafka.admin();
  let cursors: Cursor[];
  try {
    const offsets = await admin.topicOffsets(opts.topic);
    const since = opts.sinceMs === undefined ? undefined : await admin.offsetsAtTime(opts.topic, opts.sinceMs);
    const until = opts.untilMs === undefined ? undefined : await admin.offsetsAtTime(opts.topic, opts.untilMs);
    const wanted = opts.partitions ? new Set(opts.partitions) : undefined;
    cursors = offsets
      .filter((p) => !wanted || wanted.has(p.partition))
      .map((p) => {
        const low = BigInt(p.low);
        const start = since ? max(low, BigInt(since.find((s) => s.partition === p.partition)?.offset ?? p.high)) : low;
        const end = until ? BigInt(until.find((s) => s.partition === p.partition)?.offset ?? p.high) : BigInt(p.high);
        return { partition: p.partition, start, readFrom: max(start, end), oldestRead: Infinity };
      });
  } finally {
    await admin.close().catch(() => undefined);
  }

  const found: { at: number; partition: number; offset: bigint; value: T }[] = [];
  let scanned = 0;
  let step = BigInt(Math.max(1, opts.firstStep ?? Math.max(opts.limit, 50)));
  for (;;) {
    const open = cursors.filter((c) => c.readFrom > c.start);
    // Matches at or after the newest time still unread anywhere are final.
    const unreadNewest = Math.max(-Infinity, ...open.map((c) => c.oldestRead));
    const certain = found.filter((f) => f.at >= unreadNewest).length;
    if (open.length === 0 || certain >= opts.limit) break;
    if (scanned >= opts.scanLimit) return finish(found, opts.limit, true, scanned);
    const perPartition = min(step, BigInt(Math.ceil((opts.scanLimit - scanned) / open.length)));
    const ranges: PartitionRange[] = open.map((c) => {
      const from = max(c.start, c.readFrom - perPartition);
      return { partition: c.partition, from: from.toString(), to: c.readFrom.toString() };
    });
    await readRange(
      kafka,
      opts.topic,
      ranges,
      (m) => {
        scanned++;
        const at = Number(m.timestamp);
        const c = cursors.find((x) => x.partition === m.partition)!;
        c.oldestRead = Math.min(c.oldestRead, at);
        const value = opts.match(m);
        if (value !== undefined) found.push({ at, partition: m.partition, offset: BigInt(m.offset), value });
      },
      { groupPrefix: opts.groupPrefix },
    );
    for (const r of ranges) {
      const c = cursors.find((x) => x.partition === r.partition)!;
      c.readFrom = BigInt(r.from);
    }
    step *= 2n;
  }
  return finish(found, opts.limit, false, scanned);
}

function finish<T>(
  found: { at: number; partition: number; offset: bigint; value: T }[],
  limit: number,
  truncated: boolean,
  scanned: number,
): ReadNewestResult<T> {
  // Newest first; within one millisecond, the later offset of a partition first.
  found.sort((a, b) => b.at - a.at || a.partition - b.partition || (b.offset > a.offset ? 1 : b.offset < a.offset ? -1 : 0));
  return { items: found.slice(0, limit).map((f) => f.value), truncated, scanned };
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
