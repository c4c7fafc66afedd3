import { Gauge } from 'prom-client';
import type { Metrics } from './metrics.js';

export interface StateSources {
  /** Status of every stored connection (active, needs_reauth). */
  connectionStatuses(): Iterable<string>;
  /** State of every org subscriber running on this instance. */
  subscriberStates(): Iterable<string>;
}

function countBy(values: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/**
 * Gauges read at scrape time from the live state, so they can never drift
 * from it: a connection in needs_reauth shows up the moment it is recorded.
 */
export function registerStateGauges(metrics: Metrics, sources: StateSources): void {
  new Gauge({
    name: 'forcehook_connections',
    help: 'Stored connections by status (needs_reauth needs a person to re-authorize)',
    labelNames: ['status'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      this.set({ status: 'active' }, 0);
      this.set({ status: 'needs_reauth' }, 0);
      for (const [status, n] of countBy(sources.connectionStatuses())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'forcehook_org_subscribers',
    help: 'Org subscribers on this instance by state',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [state, n] of countBy(sources.subscriberStates())) this.set({ state }, n);
    },
  });
}
