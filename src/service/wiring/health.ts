import { withTimeout } from '../../core/timeout.js';
import type { Logger } from '../../core/log.js';
import type { StateMachine } from '../../core/state-machine.js';
import type { Metrics } from '../../observability/metrics.js';
import { registerOpsGauges } from '../../observability/ops-gauges.js';
import { registerOrgGauges } from '../../observability/org-gauges.js';
import { deliveryView } from '../../deliver/state/keeper.js';
import { registerStateGauges } from '../../observability/state-gauges.js';
import type { ServiceState } from '../lifecycle.js';
import type { KafkaAndState } from './kafka-state.js';
import type { Sources } from './sources.js';

/** How long a /readyz probe may wait on Kafka before answering 503. */
const PING_TIMEOUT_MS = 3_000;

/** The gauges read from state at scrape time: connection and subscriber states, and per org its lag, API budget and modes. */
export function registerGauges(metrics: Metrics, k: KafkaAndState, s: Sources): void {
  const { store } = k;
  const { sources } = s;
  registerStateGauges(metrics, {
    connectionStatuses: () => store.connections().map((c) => c.status),
    subscriberStates: () => sources.states(),
  });
  // --- per-org gauges: lag, API budget, modes (src/observability/org-gauges.ts) ---
  registerOrgGauges(metrics, function* () {
    for (const c of store.connections()) {
      const s = sources.supervisor(c.id);
      if (s)
        yield {
          connectionId: c.id,
          orgId: c.orgId,
          lag: s.lag(),
          apiUsage: s.session.apiUsage(),
          modes: s.objectModes().map((o) => o.mode),
          streamingLimited: s.streamingLimited(),
        };
    }
  });
  // --- end per-org gauges ---
  registerOpsGauges(metrics, {
    *subscriptions() {
      for (const sub of store.subscriptions())
        yield { subscriptionId: sub.id, connectionId: sub.connectionId, state: deliveryView(store.deliveryState(sub.id)).state };
    },
    partitions() {
      const o = s.ownership()?.status();
      return o && { owned: o.owned.length, handover: o.handover.length, fenced: o.fenced.length };
    },
  });
}

/**
 * /readyz: ready once state loaded and while Kafka answers a ping; moves the
 * service between running and degraded as that changes.
 */
export function readiness(deps: {
  admin: KafkaAndState['admin'];
  metrics: Metrics;
  lifecycle: StateMachine<ServiceState>;
  loaded: () => boolean;
  logger: Logger;
}): () => Promise<boolean> {
  const { admin, metrics, lifecycle, loaded, logger } = deps;
  const ping = async (): Promise<boolean> => {
    try {
      await withTimeout(admin.ping(), PING_TIMEOUT_MS, 'kafka ping');
      return true;
    } catch (err) {
      logger.debug({ err }, 'kafka ping failed');
      return false;
    }
  };

  return async (): Promise<boolean> => {
    const ok = loaded() && (await ping());
    metrics.kafkaReady.set(ok ? 1 : 0);
    if (lifecycle.state === 'running' && !ok) lifecycle.to('degraded');
    else if (lifecycle.state === 'degraded' && ok) lifecycle.to('running');
    return ok;
  };
}
