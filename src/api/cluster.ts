import { Router } from 'express';
import type { Topics } from '../kafka/topics.js';
import type { KafkaClient, TopicPartitionOffset } from '../kafka/types.js';
import { partitionOf, type OwnershipStatus } from '../source/ownership.js';
import type { ServiceStore } from '../state/store.js';

export interface ClusterDeps {
  kafka: KafkaClient;
  topics: Topics;
  store: ServiceStore;
  /** `<prefix>`: the groups are `<prefix>.owners` and `<prefix>.dispatcher`. */
  prefix: string;
  /** The retry topics' delays (the dispatcher reads them too). */
  retryDelaysMs: readonly number[];
  /** This instance's share of the orgs; undefined before it joined (or without the source role). */
  ownership(): OwnershipStatus | undefined;
}

/**
 * `GET /v1/cluster`: what an operator asks of the whole deployment, from any
 * instance. The instances are the members of `<prefix>.owners` (each with the
 * connections it follows, from the assignment partitions it holds); the lag is
 * the dispatcher group's, per topic it reads; the replay positions are the
 * checkpoints every instance shares.
 */
export function clusterRouter(deps: ClusterDeps): Router {
  const r = Router();
  r.get('/cluster', async (_req, res) => {
    const admin = deps.kafka.admin();
    try {
      const dispatcherGroup = `${deps.prefix}.dispatcher`;
      const ownersGroup = `${deps.prefix}.owners`;
      const read = [deps.topics.events, deps.topics.deliveries, ...new Set(deps.retryDelaysMs.map((ms) => deps.topics.retry(ms)))];
      const [assignments, members, committed, ...ends] = await Promise.all([
        admin.topicOffsets(deps.topics.assignments),
        admin.groupMembers(ownersGroup),
        admin.groupOffsets(dispatcherGroup, read),
        ...read.map((t) => admin.topicOffsets(t)),
      ]);
      const connections = deps.store.connections();
      const instances = members.map((m) => {
        const owned = new Set(m.assignment.filter((a) => a.topic === deps.topics.assignments).map((a) => a.partition));
        // A connection is followed by the holder of its hash over the assignments topic's real partition count.
        const follows = connections.filter((c) => owned.has(partitionOf(c.id, assignments.length))).map((c) => ({ connectionId: c.id, orgId: c.orgId }));
        return { memberId: m.memberId, clientId: m.clientId, host: m.host, partitions: [...owned].sort((a, b) => a - b), follows };
      });
      const at = new Map(committed.map((c: TopicPartitionOffset) => [`${c.topic}:${c.partition}`, c.offset]));
      const lag = read.flatMap((topic, i) =>
        ends[i]!.map((p) => {
          const position = at.get(`${topic}:${p.partition}`);
          const lagged = Number(BigInt(p.high) - BigInt(position ?? p.low));
          return { group: dispatcherGroup, topic, partition: p.partition, committed: position ?? null, high: p.high, lag: Math.max(0, lagged) };
        }),
      );
      const orgOf = new Map(connections.map((c) => [c.id, c.orgId]));
      // Replay positions and polling cursors; an overflow read back in progress is neither.
      const replay = deps.store
        .checkpoints()
        .flatMap((c) => (c.kind === 'cdc' || c.kind === 'poll' ? [c] : []))
        .map((c) =>
          c.kind === 'cdc'
            ? {
                kind: 'cdc' as const,
                connectionId: c.connectionId,
                orgId: orgOf.get(c.connectionId) ?? null,
                channel: c.channel,
                replayId: c.replayId,
                updatedAt: c.updatedAt,
              }
            : {
                kind: 'poll' as const,
                connectionId: c.connectionId,
                orgId: orgOf.get(c.connectionId) ?? null,
                object: c.object,
                systemModstamp: new Date(c.systemModstamp).toISOString(),
                updatedAt: c.updatedAt,
              },
        );
      res.json({ instances, lag, replay, thisInstance: deps.ownership() ?? null });
    } finally {
      await admin.close().catch(() => undefined);
    }
  });
  return r;
}
