import { Gauge } from 'prom-client';
import type { Metrics } from './metrics.js';

/** One subscription as its delivery state reads at scrape time. */
export interface SubscriptionStat {
  subscriptionId: string;
  connectionId: string;
  /** The API's delivery state: active, failing (the last attempts failed) or disabled. */
  state: 'active' | 'failing' | 'disabled';
}

export interface OpsSources {
  subscriptions(): Iterable<SubscriptionStat>;
  /** Assignment partitions this instance holds, by state; undefined before it joined the owners group. */
  partitions(): { owned: number; handover: number; fenced: number } | undefined;
}

/**
 * The gauges the shipped alert rules need beyond the per-org ones: which
 * subscriptions fail (one series each, so that "failing for an hour" names the
 * subscription) and whether this instance fenced itself.
 */
export function registerOpsGauges(metrics: Metrics, sources: OpsSources): void {
  new Gauge({
    name: 'forcehook_subscriptions',
    help: 'Subscriptions by delivery state (active, failing, disabled)',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      const n = { active: 0, failing: 0, disabled: 0 };
      for (const s of sources.subscriptions()) n[s.state]++;
      for (const [state, v] of Object.entries(n)) this.set({ state }, v);
    },
  });
  new Gauge({
    name: 'forcehook_subscription_failing',
    help: '1 while the last delivery attempts of the subscription failed, 0 otherwise',
    labelNames: ['subscription_id', 'connection_id'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of sources.subscriptions()) this.set({ subscription_id: s.subscriptionId, connection_id: s.connectionId }, s.state === 'failing' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'forcehook_ownership_partitions',
    help: 'Assignment partitions (hence orgs) this instance holds, by state: owned, handover, fenced (Kafka could not confirm its ownership: it stopped following them)',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      const p = sources.partitions() ?? { owned: 0, handover: 0, fenced: 0 };
      for (const [state, v] of Object.entries(p)) this.set({ state }, v);
    },
  });
}
