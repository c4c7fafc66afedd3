/**
 * The ingest stage of one org: every change the source reads (streamed, polled or
 * reconciled) enters here as RawChange[] and leaves as events acknowledged by
 * Kafka. Detect, publish, then what follows from the acknowledgement: the
 * sightings a later reconcile compares against, the org's lag and each object's
 * last event time, and the detection metrics. A caller checkpoints the positions
 * the changes came from only once `ingest` resolved.
 */
import { createDetector } from '../detect/index.js';
import type { RawChange } from '../normalize/index.js';
import type { Metrics } from '../observability/metrics.js';
import { traceIngest } from '../observability/tracing.js';
import type { Publisher } from '../publish/publisher.js';
import type { Sightings } from './sightings.js';

export interface IngestOptions {
  orgId: string;
  connectionId: string;
  publisher: Publisher;
  /** Change events published, so that a reconcile reading the same change gives it the same id. */
  sightings: Pick<Sightings, 'published' | 'sameChange'>;
  metrics?: Pick<Metrics, 'changesDetected'>;
  now: () => number;
}

/** The previous CampaignId of a record, as the poller last saw it (campaign triggers need the change). */
export type PreviousCampaignId = (recordId: string) => string | null | undefined;

export interface IngestStage {
  /** Resolves once Kafka acknowledged every event the changes gave (none: at once). */
  ingest(changes: readonly RawChange[], previousCampaignId?: PreviousCampaignId): Promise<void>;
  /**
   * As of the latest publish: Kafka ack time minus the commit time of the newest event in it (how far
   * the processed position trailed the org). Undefined until something was published.
   */
  lag(): { commitTimestamp: number; lagMs: number } | undefined;
  /** Commit time of the newest event published for `object` (any case), if any. */
  lastEventAt(object: string): number | undefined;
}

export function createIngest(opts: IngestOptions): IngestStage {
  const detector = createDetector({ orgId: opts.orgId, connectionId: opts.connectionId });
  const lastEventAt = new Map<string, number>();
  let published: { commitTimestamp: number; lagMs: number } | undefined;

  return {
    async ingest(changes, previousCampaignId) {
      if (changes.length === 0) return;
      const events = detector.detectBatch(changes, { ...(previousCampaignId ? { previousCampaignId } : {}), sameChange: opts.sightings.sameChange });
      // Every source (CometD, Pub/Sub, polling, reconcile) comes through here: the root of each change's trace.
      const traced = traceIngest(events, opts);
      try {
        await opts.publisher.publish(events);
      } catch (err) {
        traced(err);
        throw err;
      }
      traced();
      opts.sightings.published(changes);
      const newest = events.reduce((m, e) => Math.max(m, e.data.commitTimestamp), 0);
      if (events.length > 0 && newest >= (published?.commitTimestamp ?? 0)) {
        published = { commitTimestamp: newest, lagMs: Math.max(0, opts.now() - newest) };
      }
      for (const e of events) {
        const key = e.data.object.toLowerCase();
        lastEventAt.set(key, Math.max(lastEventAt.get(key) ?? 0, e.data.commitTimestamp));
        opts.metrics?.changesDetected.inc({ trigger: e.type.replace('salesforce.', ''), mode: e.data.detectedBy });
      }
    },
    lag: () => published,
    lastEventAt: (object) => lastEventAt.get(object.toLowerCase()),
  };
}
