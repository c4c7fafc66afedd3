import { Gauge } from 'prom-client';
import type { Metrics } from './metrics.js';

/** What one followed org reports at scrape time. */
export interface OrgStats {
  connectionId: string;
  orgId: string;
  /** From the latest publish; undefined until the org published something. */
  lag?: { commitTimestamp: number; lagMs: number } | undefined;
  /** From the last REST answer's `Sforce-Limit-Info`; undefined before the first call. */
  apiUsage?: { used: number; limit: number } | undefined;
  modes: Iterable<'cdc' | 'polling'>;
  /** The org-wide streaming limit its objects are polled for meanwhile, if any. */
  streamingLimited?: string | undefined;
}

/**
 * Per-org gauges, read at scrape time from the org subscribers this instance runs.
 * One series per followed org (thousands at most), labelled by connection and org id,
 * and dropped when the org stops being followed here (each collect starts from reset).
 */
export function registerOrgGauges(metrics: Metrics, orgs: () => Iterable<OrgStats>): void {
  const labelNames = ['connection_id', 'org_id'] as const;
  const each = (fn: (o: OrgStats, labels: { connection_id: string; org_id: string }) => void) => {
    for (const o of orgs()) fn(o, { connection_id: o.connectionId, org_id: o.orgId });
  };
  new Gauge({
    name: 'forcehook_org_lag_seconds',
    help: 'At the latest publish of the org: Kafka acknowledgement time minus the commit time of the newest change published (how far behind the org the pipeline ran)',
    labelNames,
    registers: [metrics.registry],
    collect() {
      this.reset();
      each((o, l) => o.lag && this.set(l, o.lag.lagMs / 1000));
    },
  });
  new Gauge({
    name: 'forcehook_org_last_change_timestamp_seconds',
    help: 'Commit time of the newest change published for the org (time() minus it: how long the org has been silent or stuck)',
    labelNames,
    registers: [metrics.registry],
    collect() {
      this.reset();
      each((o, l) => o.lag && this.set(l, o.lag.commitTimestamp / 1000));
    },
  });
  new Gauge({
    name: 'forcehook_org_api_requests_used',
    help: "The org's REST API requests used in the rolling 24 h, as Salesforce last reported (Sforce-Limit-Info)",
    labelNames,
    registers: [metrics.registry],
    collect() {
      this.reset();
      each((o, l) => o.apiUsage && this.set(l, o.apiUsage.used));
    },
  });
  new Gauge({
    name: 'forcehook_org_api_requests_limit',
    help: "The org's daily REST API request limit, as Salesforce last reported",
    labelNames,
    registers: [metrics.registry],
    collect() {
      this.reset();
      each((o, l) => o.apiUsage && this.set(l, o.apiUsage.limit));
    },
  });
  new Gauge({
    name: 'forcehook_org_streaming_limited',
    help: "1 while Salesforce refuses the org's streaming for an org-wide limit (event_allocation, concurrent_clients) and its objects are polled instead",
    labelNames: ['connection_id', 'org_id', 'limit'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      each((o, l) => o.streamingLimited && this.set({ ...l, limit: o.streamingLimited }, 1));
    },
  });
  new Gauge({
    name: 'forcehook_followed_objects',
    help: 'Objects followed by the org subscribers on this instance, by mode (cdc, polling)',
    labelNames: ['mode'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.set({ mode: 'cdc' }, 0);
      this.set({ mode: 'polling' }, 0);
      for (const o of orgs()) for (const mode of o.modes) this.inc({ mode });
    },
  });
}
