import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';

/**
 * One registry per service instance (not prom-client's global one), so tests can
 * run several instances in one process without metrics bleeding across them.
 * Stages receive `Metrics` and register what they measure here, in one place,
 * so the names stay consistent and documented.
 */
export function createMetrics() {
  const registry = new Registry();
  // Node's process metrics under their standard names (process_cpu_seconds_total,
  // nodejs_eventloop_lag_seconds, ...), which off-the-shelf Node.js dashboards query;
  // forcehook's own metrics below carry the forcehook_ prefix.
  collectDefaultMetrics({ register: registry });
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
    streamingReconnects: new Counter({
      name: 'forcehook_streaming_reconnects_total',
      help: "Times an org's CDC stream left the subscribed state to reconnect (re-handshake, transport down, silence, token refreshed, authentication invalid, ...)",
      labelNames: ['connection_id', 'org_id', 'reason'] as const,
      registers: [registry],
    }),
    streamingLimited: new Counter({
      name: 'forcehook_streaming_limited_total',
      help: "Times Salesforce refused an org's streaming for an org-wide limit (limit: event_allocation = daily event delivery allocation used up, concurrent_clients = concurrent Streaming API client limit); the org is polled meanwhile",
      labelNames: ['connection_id', 'org_id', 'limit'] as const,
      registers: [registry],
    }),
    // Delivery (src/deliver): the dispatcher (fan-out and attempts) and its executors.
    deliveriesMatched: new Counter({
      name: 'forcehook_deliveries_matched_total',
      help: 'Deliveries made from events (one per event and matching subscription)',
      registers: [registry],
    }),
    deliveryUnmatchable: new Counter({
      name: 'forcehook_events_unmatchable_total',
      help: 'Messages on the events topic that are not CloudEvents (skipped, logged)',
      registers: [registry],
    }),
    deliveryAttempts: new Counter({
      name: 'forcehook_delivery_attempts_total',
      help: 'Delivery attempts by destination type and outcome (delivered, retry, dead, disable, short_circuit)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    deliveryDuration: new Histogram({
      name: 'forcehook_delivery_attempt_seconds',
      help: 'Duration of one delivery attempt',
      labelNames: ['type'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
    deliveryRetryBacklog: new Gauge({
      name: 'forcehook_delivery_retry_backlog',
      help: 'Retry records this instance holds in memory waiting for their due time',
      registers: [registry],
    }),
    deliveryDeadLettered: new Counter({
      name: 'forcehook_delivery_dead_lettered_total',
      help: 'Deliveries written to the dead-letter topic, by reason (exhausted, dead, disabled)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    deliveryDlqSize: new Gauge({
      name: 'forcehook_delivery_dlq_size',
      help: 'Dead letters not yet redelivered, summed over subscriptions (from the delivery state)',
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
