import { Admin as PltAdmin, ConfigResourceTypes } from '@platformatic/kafka';
import { ForcehookError } from '../../core/errors.js';
import { retry, retryPolicy } from '../../core/retry.js';
import type { Logger } from '../../core/log.js';
import type { Admin, GroupMember, PartitionOffsets, TopicSpec } from '../types.js';
import { guarded, hasApiError, mapPlatformaticError } from './errors.js';
import { budgetedPing } from '../ping.js';
import type { PltBaseOptions } from './producer.js';

/** Up to ~15 s for a new topic's partitions to get leaders everywhere. */
const LEADERS_POLICY = retryPolicy({ maxAttempts: 25, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });

// ListOffsets' special timestamps.
const LATEST = -1n;
const EARLIEST = -2n;

function topicConfigs(spec: TopicSpec): { name: string; value: string }[] {
  const config: Record<string, string> = {};
  if (spec.compacted) config['cleanup.policy'] = 'compact';
  if (spec.retentionMs !== undefined) config['retention.ms'] = String(spec.retentionMs);
  Object.assign(config, spec.config);
  return Object.entries(config).map(([name, value]) => ({ name, value }));
}

/**
 * The ping admin has short timeouts and no retries, so /readyz answers within
 * PING_BUDGET_MS even when the cluster is gone; the main one keeps the client's
 * patient defaults for real work.
 */
export function createPlatformaticAdmin(base: PltBaseOptions, logger: Logger, onClose: () => void): Admin {
  const admin = new PltAdmin({ ...base });
  const pingAdmin = new PltAdmin({ ...base, connectTimeout: 1_000, requestTimeout: 2_000, timeout: 2_000, retries: 0 });

  async function partitionsOf(topic: string): Promise<number[]> {
    const meta = await guarded(`kafka metadata of ${topic}`, () => admin.metadata({ topics: [topic], forceUpdate: true }));
    const t = meta.topics.get(topic);
    if (!t) throw new ForcehookError('KAFKA', `kafka metadata of ${topic}: no such topic`);
    return Array.from({ length: t.partitionsCount }, (_, i) => i);
  }

  async function offsetsAt(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    const partitions = await partitionsOf(topic);
    const res = await guarded(`kafka offsets of ${topic}`, () =>
      admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] }),
    );
    return new Map(res.flatMap((t) => t.partitions).map((p) => [p.partitionIndex, p.offset]));
  }

  async function topicOffsets(topic: string): Promise<PartitionOffsets[]> {
    const [low, high] = await Promise.all([offsetsAt(topic, EARLIEST), offsetsAt(topic, LATEST)]);
    return [...high.keys()]
      .sort((a, b) => a - b)
      .map((partition) => ({ partition, low: String(low.get(partition) ?? 0n), high: String(high.get(partition)!) }));
  }

  async function assertCompacted(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const res = await guarded('kafka describeConfigs', () =>
      admin.describeConfigs({
        resources: topics.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName, configurationKeys: ['cleanup.policy'] })),
      }),
    );
    for (const r of res) {
      const policy = r.configs.find((c) => c.name === 'cleanup.policy')?.value ?? '';
      if (!policy.split(',').includes('compact')) {
        throw new ForcehookError('KAFKA', `topic ${r.resourceName} exists with cleanup.policy=${policy}; it must be compacted (cleanup.policy=compact)`);
      }
    }
  }

  return {
    async ensureTopics(specs) {
      for (const spec of specs) {
        let created = true;
        try {
          await admin.createTopics({ topics: [spec.topic], partitions: spec.partitions ?? -1, replicas: -1, configs: topicConfigs(spec) });
        } catch (err) {
          if (!hasApiError(err, 'TOPIC_ALREADY_EXISTS')) throw mapPlatformaticError(err, `kafka create topic ${spec.topic}`);
          created = false;
        }
        // Listing offsets needs every partition's leader, so it is the readiness check.
        await retry(LEADERS_POLICY, () => topicOffsets(spec.topic));
        if (created) logger.info({ topic: spec.topic }, 'kafka topic created');
      }
      await assertCompacted(specs.filter((s) => s.compacted).map((s) => s.topic));
    },

    topicOffsets,

    async offsetsAtTime(topic, timestampMs) {
      const [atTime, ends] = await Promise.all([offsetsAt(topic, BigInt(timestampMs)), offsetsAt(topic, LATEST)]);
      // The broker answers -1 when no message is that recent: the end of the partition.
      return [...ends.keys()]
        .sort((a, b) => a - b)
        .map((partition) => {
          const at = atTime.get(partition);
          return { partition, offset: String(at === undefined || at === -1n ? ends.get(partition)! : at) };
        });
    },

    async setGroupOffsets(groupId, topic, offsets) {
      await guarded(`kafka set offsets of ${groupId}`, () =>
        admin.alterConsumerGroupOffsets({
          groupId,
          topics: [{ name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })) }],
        }),
      );
    },

    async deleteGroups(groupIds) {
      if (groupIds.length === 0) return;
      await guarded('kafka delete groups', () => admin.deleteGroups({ groups: groupIds }));
    },

    async groupOffsets(groupId, topics) {
      const named = await Promise.all(topics.map(async (name) => ({ name, partitionIndexes: await partitionsOf(name) })));
      const res = await guarded(`kafka offsets of group ${groupId}`, () => admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: named }] }));
      // The broker answers -1 for a partition the group never committed.
      return res.flatMap((g) =>
        g.topics.flatMap((t) =>
          t.partitions.filter((p) => p.committedOffset >= 0n).map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: String(p.committedOffset) })),
        ),
      );
    },

    async groupMembers(groupId) {
      const groups = await guarded(`kafka members of group ${groupId}`, () => admin.describeGroups({ groups: [groupId] }));
      const group = groups.get(groupId);
      return [...(group?.members.values() ?? [])].map((m): GroupMember => ({
        memberId: m.id,
        clientId: m.clientId,
        host: m.clientHost,
        assignment: [...(m.assignments?.values() ?? [])].flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition }))),
      }));
    },

    ping: budgetedPing(async () => {
      await guarded('kafka ping', () => pingAdmin.metadata({ topics: [], forceUpdate: true }));
    }),

    async close() {
      onClose();
      await Promise.allSettled([admin.close(), pingAdmin.close()]);
    },
  };
}
