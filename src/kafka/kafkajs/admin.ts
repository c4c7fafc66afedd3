import kafkajs, { type Admin as KjsAdmin, type ITopicConfig, type Kafka } from 'kafkajs';

// kafkajs is CommonJS and Node's ESM loader cannot see this export by name (vitest can, plain node cannot).
const { ConfigResourceTypes } = kafkajs;
import { ForcehookError } from '../../core/errors.js';
import { retry, retryPolicy } from '../../core/retry.js';
import type { Logger } from '../../core/log.js';
import type { Admin, GroupMember, TopicSpec } from '../types.js';
import { guarded } from './errors.js';
import { budgetedPing } from '../ping.js';

/** Up to ~15 s for a new topic's partitions to get leaders everywhere. */
const LEADERS_POLICY = retryPolicy({ maxAttempts: 25, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 });

function topicConfig(spec: TopicSpec): ITopicConfig {
  const config: Record<string, string> = {};
  if (spec.compacted) config['cleanup.policy'] = 'compact';
  if (spec.retentionMs !== undefined) config['retention.ms'] = String(spec.retentionMs);
  Object.assign(config, spec.config);
  return {
    topic: spec.topic,
    numPartitions: spec.partitions ?? -1,
    replicationFactor: -1,
    configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
  };
}

/** Connects on first use; a failed connect is retried by the next call. */
function lazy(admin: KjsAdmin): { use: () => Promise<KjsAdmin>; reset: () => Promise<void> } {
  let connecting: Promise<void> | undefined;
  return {
    async use() {
      connecting ??= guarded('kafka admin connect', () => admin.connect()).catch((err: unknown) => {
        connecting = undefined;
        throw err;
      });
      await connecting;
      return admin;
    },
    async reset() {
      if (!connecting) return;
      connecting = undefined;
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/**
 * `pingKafka` is a separate kafkajs instance with short timeouts and no retries,
 * so /readyz answers within PING_BUDGET_MS even when the cluster is gone, while
 * the main admin keeps kafkajs's patient defaults for real work.
 */
export function createKafkajsAdmin(kafka: Kafka, pingKafka: Kafka, logger: Logger, onClose: () => void): Admin {
  const main = lazy(kafka.admin());
  const ping = lazy(pingKafka.admin({ retry: { retries: 0 } }));

  async function assertCompacted(admin: KjsAdmin, topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    const res = await guarded('kafka describeConfigs', () =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
      }),
    );
    for (const r of res.resources) {
      const policy = r.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? '';
      if (!policy.split(',').includes('compact')) {
        throw new ForcehookError('KAFKA', `topic ${r.resourceName} exists with cleanup.policy=${policy}; it must be compacted (cleanup.policy=compact)`);
      }
    }
  }

  return {
    async ensureTopics(specs) {
      const admin = await main.use();
      // One topic per request: kafkajs reports "already exists" only when every
      // topic of a request existed.
      for (const spec of specs) {
        const created = await guarded(`kafka create topic ${spec.topic}`, () => admin.createTopics({ topics: [topicConfig(spec)], waitForLeaders: false }));
        // kafkajs's own leader wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a
        // fresh KRaft broker answers for a moment after creating a topic. Listing
        // offsets needs every partition's leader, so it is the readiness check.
        await retry(LEADERS_POLICY, () => guarded(`kafka leaders of ${spec.topic}`, () => admin.fetchTopicOffsets(spec.topic)));
        if (created) logger.info({ topic: spec.topic }, 'kafka topic created');
      }
      await assertCompacted(
        admin,
        specs.filter((s) => s.compacted).map((s) => s.topic),
      );
    },

    async topicOffsets(topic) {
      const admin = await main.use();
      const offsets = await guarded(`kafka offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
      return offsets.map(({ partition, low, high }) => ({ partition, low, high })).sort((a, b) => a.partition - b.partition);
    },

    async offsetsAtTime(topic, timestampMs) {
      const admin = await main.use();
      const [atTime, ends] = await Promise.all([
        guarded(`kafka offsets of ${topic} at ${timestampMs}`, () => admin.fetchTopicOffsetsByTimestamp(topic, timestampMs)),
        guarded(`kafka offsets of ${topic}`, () => admin.fetchTopicOffsets(topic)),
      ]);
      // The broker answers -1 when no message is that recent: the end of the partition.
      const high = new Map(ends.map((e) => [e.partition, e.high]));
      return atTime
        .map(({ partition, offset }) => ({ partition, offset: offset === '-1' ? (high.get(partition) ?? '0') : offset }))
        .sort((a, b) => a.partition - b.partition);
    },

    async setGroupOffsets(groupId, topic, offsets) {
      const admin = await main.use();
      await guarded(`kafka set offsets of ${groupId}`, () => admin.setOffsets({ groupId, topic, partitions: offsets }));
    },

    async deleteGroups(groupIds) {
      if (groupIds.length === 0) return;
      const admin = await main.use();
      await guarded('kafka delete groups', () => admin.deleteGroups(groupIds));
    },

    async groupOffsets(groupId, topics) {
      const admin = await main.use();
      const answer = await guarded(`kafka offsets of group ${groupId}`, () => admin.fetchOffsets({ groupId, topics }));
      // The broker answers -1 for a partition the group never committed.
      return answer.flatMap(({ topic, partitions }) =>
        partitions.filter((p) => p.offset !== '-1').map((p) => ({ topic, partition: p.partition, offset: p.offset })),
      );
    },

    async groupMembers(groupId) {
      const admin = await main.use();
      const { groups } = await guarded(`kafka members of group ${groupId}`, () => admin.describeGroups([groupId]));
      return (groups[0]?.members ?? []).map((m): GroupMember => {
        const decoded = m.memberAssignment?.length ? kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null;
        const assignment = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
        return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignment };
      });
    },

    ping: budgetedPing(async () => {
      try {
        const a = await ping.use();
        await guarded('kafka ping', () => a.describeCluster());
      } catch (err) {
        // A fresh connection next time: kafkajs may keep a half-dead socket otherwise.
        void ping.reset();
        throw err;
      }
    }),

    async close() {
      onClose();
      await Promise.all([main.reset(), ping.reset()]);
    },
  };
}
