import { readFileSync } from 'node:fs';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { RetryPolicy } from '../../core/retry.js';
import type { Metrics } from '../../observability/metrics.js';
import type { CdcTransport } from '../../source/cdc/index.js';
import { SourceManager } from '../../source/manager.js';
import { OrgOwnership } from '../../source/ownership.js';
import { TokenKeeper } from '../../salesforce/tokens.js';
import { OrgSessions } from '../../salesforce/sessions.js';
import type { KafkaAndState } from './kafka-state.js';

export interface SourcesOptions {
  /** Tests shorten how often the CDC selection is re-read. */
  modeRefreshMs?: number | undefined;
  /** Tests shorten how often, while objects are streamed, the CDC selection alone is checked. */
  selectionCheckMs?: number | undefined;
  /** Tests shorten how long an org whose streaming allocation is spent is polled before streaming is tried again. */
  streamingLimitRetry?: RetryPolicy | undefined;
}

/** The orgs this instance follows: their tokens, their supervisors, and which of them it owns. */
export interface Sources {
  tokens: TokenKeeper;
  sources: SourceManager;
  /** Org sessions for work on orgs this instance may not follow (workflow steps, checking a new subscription). */
  orgSessions: OrgSessions;
  /** undefined until this instance joined the owners group. */
  ownership(): OrgOwnership | undefined;
  /** Joins the owners group: from then on, the orgs of the assignment partitions it holds are followed. */
  startOwnership(): Promise<void>;
}

export function wireSources(config: Readonly<Config>, logger: Logger, metrics: Metrics, k: KafkaAndState, opts: SourcesOptions): Sources {
  const { kafka, admin, topics: t, store, box, egress, connections, publisher } = k;
  const { modeRefreshMs, selectionCheckMs, streamingLimitRetry } = opts;
  // --- scale-out: the orgs of the assignment partitions this instance holds (src/source/ownership.ts) ---
  let ownership: OrgOwnership | undefined;
  const startOwnership = async (): Promise<void> => {
    // The hash is over the topic's real partition count, whatever created it.
    const partitions = (await admin.topicOffsets(t.assignments)).length;
    const o = new OrgOwnership({
      client: kafka,
      topic: t.assignments,
      groupId: `${config.kafka.topicPrefix}.owners`,
      sessionTimeoutMs: config.kafka.ownersSessionTimeoutMs,
      logger,
      partitions,
      onChange: async ({ gained, lost }) => {
        if (lost.length > 0) await sources.release((id) => !o.owns(id));
        const g = new Set(gained);
        sources.reconcile(store.connections().flatMap((c) => (g.has(o.partitionOf(c.id)) ? [c.id] : [])));
      },
    });
    ownership = o;
    await o.start();
  };
  // --- end scale-out ---
  // The org's owner alone refreshes its tokens; other instances use the ones on record (src/salesforce/tokens.ts).
  const tokens = new TokenKeeper({
    store,
    box,
    logger,
    egress,
    owns: (connectionId) => ownership?.owns(connectionId) ?? false,
    intervalMs: config.tokenRefreshIntervalS * 1000,
    onReauthRequired: (connectionId, reason) => {
      void connections.markNeedsReauth(connectionId, reason).catch((err: unknown) => logger.error({ err, connectionId }, 'could not record needs_reauth'));
    },
  });
  const ownTransports = new Map<CdcTransport['kind'], CdcTransport>();
  const sources = new SourceManager({
    store,
    owns: (connectionId) => ownership?.owns(connectionId) ?? false,
    connections,
    tokens,
    publisher,
    logger,
    metrics,
    pollIntervalMs: config.pollIntervalS * 1000,
    budgetShare: config.pollBudgetShare,
    egress,
    cdcTransport: cdcTransportOf(config),
    cdcTransportFor: (kind) => {
      // Built on first use, so a CA file is read once and only when some connection asks for Pub/Sub.
      let t = ownTransports.get(kind);
      if (!t) ownTransports.set(kind, (t = cdcTransportOf({ ...config, cdcTransport: kind })));
      return t;
    },
    ...(modeRefreshMs ? { modeRefreshMs } : {}),
    ...(selectionCheckMs ? { selectionCheckMs } : {}),
    ...(streamingLimitRetry ? { streamingLimitRetry } : {}),
  });
  // Org sessions for work on orgs this instance may not follow (workflow steps, checking a new subscription).
  const orgSessions = new OrgSessions({ store, connections, tokens, sources, logger, egress });
  return { tokens, sources, orgSessions, ownership: () => ownership, startOwnership };
}

/** FORCEHOOK_CDC_TRANSPORT and its Pub/Sub settings; the CA file is read once, at start. */
export function cdcTransportOf(config: Pick<Config, 'cdcTransport' | 'pubsubEndpoint' | 'pubsubCaFile'>): CdcTransport {
  if (config.cdcTransport === 'cometd') return { kind: 'cometd' };
  return { kind: 'pubsub', endpoint: config.pubsubEndpoint, ca: config.pubsubCaFile ? readFileSync(config.pubsubCaFile, 'utf8') : undefined };
}
