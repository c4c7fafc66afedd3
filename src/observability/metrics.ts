import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

/**
 * One registry per service instance (not prom-client's global one), so tests can
 * run several instances in one process without metrics bleeding across them.
 * Stages receive `Metrics` and register what they measure here, in one place,
 * so the names stay consistent and documented.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'forcehook_process_' });
  const m = {
    registry,
    httpRequests: new Counter({
      name: 'forcehook_http_requests_total',
      help: 'HTTP requests answered, by route and status class',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    kafkaReady: new Gauge({
      name: 'forcehook_kafka_ready',
      help: '1 when the last Kafka readiness probe succeeded',
      registers: [registry],
    }),
    changesDetected: new Counter({
      name: 'forcehook_changes_detected_total',
      help: 'Events detected, by trigger and detection mode (cdc, polling, reconcile)',
      labelNames: ['trigger', 'mode'] as const,
      registers: [registry],
    }),
    publishLatency: new Histogram({
      name: 'forcehook_publish_latency_seconds',
      help: 'From the change commit time to the Kafka acknowledgement',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
