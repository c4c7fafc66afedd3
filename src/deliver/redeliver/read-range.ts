import { randomUUID } from 'node:crypto';
import { ForcehookError } from '../../core/errors.js';
import type { ConsumedMessage, KafkaClient } from '../../kafka/types.js';

export interface PartitionRange {
  partition: number;
  /** First offset to read. */
  from: string;
  /** First offset NOT to read. */
  to: string;
}

/**
 * Reads `[from, to)` of each partition once, through a one-off consumer group
 * whose committed positions are set to `from` beforehand (our port has no
 * manual assignment), then deletes that group.
 */
export async function readRange(
  kafka: KafkaClient,
  topic: string,
  ranges: PartitionRange[],
  onMessage: (m: ConsumedMessage) => void,
  opts: { groupPrefix: string; timeoutMs?: number },
): Promise<void> {
  const todo = ranges.filter((r) => BigInt(r.from) < BigInt(r.to));
  if (todo.length === 0) return;
  const admin = kafka.admin();
  const groupId = `${opts.groupPrefix}.${randomUUID()}`;
  await admin.setGroupOffsets(
    groupId,
    topic,
    todo.map((r) => ({ partition: r.partition, offset: r.from })),
  );
  const remaining = new Map(todo.map((r) => [r.partition, BigInt(r.to)]));
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const consumer = kafka.consumer(groupId, { maxWaitTimeMs: 100 });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.subscribe([topic]);
    await consumer.run({
      eachBatch: async (batch) => {
        const end = remaining.get(batch.partition);
        if (end === undefined) return;
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= end) break;
          onMessage(m);
        }
        if (BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finished();
        }
      },
    });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ForcehookError('TIMEOUT', `reading ${topic} did not finish within ${timeoutMs} ms`, { retriable: true, status: 503 })),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.stop().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}
