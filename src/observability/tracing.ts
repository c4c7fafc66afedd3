/**
 * Traces through the OpenTelemetry API: one trace per Salesforce change, from its
 * receipt (streamed, polled or reconciled: every source feeds the ingest stage)
 * through the Kafka publish, to every delivery attempt and workflow run. The W3C
 * trace context crosses Kafka as the CloudEvents distributed-tracing extension
 * (`traceparent`, hence the `ce_traceparent` header), and webhooks carry a
 * `traceparent` header so a receiver's own tracing continues the trace.
 *
 * Only the API here; the SDK and its exporter are wired from OTEL_* settings in
 * tracing-sdk.ts. Until then (the default) nothing is recorded and every helper
 * returns at once, so tracing off costs a boolean test per batch.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { ForcehookEvent } from '../events/schema.js';
import type { AttemptOutcome, DeliveryAttempt, DestinationType, Executor, ExecutorRegistry } from '../deliver/types.js';

const tracer = trace.getTracer('forcehook');
let enabled = false;

/** Set by the SDK wiring once a tracer provider and the W3C propagator are registered. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** An event as published: the CloudEvents distributed-tracing extension beside its attributes. */
export type TracedEvent = ForcehookEvent & { traceparent?: string };

/** The W3C `traceparent` of a context, if it holds a sampled or unsampled span. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

function contextOf(traceparent: unknown): Context {
  return typeof traceparent === 'string' ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

function failed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** What one Salesforce change is, whichever way it was read: its events share one trace. */
function changeKey(e: ForcehookEvent): string {
  const d = e.data;
  return `${d.detectedBy}|${d.object}|${d.changeType}|${d.commitTimestamp}|${d.transactionKey ?? ''}|${d.sequenceNumber ?? ''}`;
}

/**
 * Around the publish of detected events: per change, a `receive` span (the root of
 * its trace) and a `publish` span under it; each event is stamped with the publish
 * span's `traceparent`. Returns what ends them once Kafka answered.
 */
export function traceIngest(events: ForcehookEvent[], org: { orgId: string; connectionId: string }): (err?: unknown) => void {
  if (!enabled || events.length === 0) return () => undefined;
  const spans: Span[] = [];
  const byChange = new Map<string, Span>();
  for (const e of events as TracedEvent[]) {
    const key = changeKey(e);
    let publish = byChange.get(key);
    if (!publish) {
      const receive = tracer.startSpan(
        `receive ${e.data.object}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'forcehook.org_id': org.orgId,
            'forcehook.connection_id': org.connectionId,
            'forcehook.detected_by': e.data.detectedBy,
            'forcehook.object': e.data.object,
            'forcehook.change_type': e.data.changeType,
          },
        },
        ROOT_CONTEXT,
      );
      publish = tracer.startSpan(
        'publish events',
        { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka' } },
        trace.setSpan(ROOT_CONTEXT, receive),
      );
      byChange.set(key, publish);
      spans.push(publish, receive);
    }
    const tp = traceparentOf(trace.setSpan(ROOT_CONTEXT, publish));
    if (tp) e.traceparent = tp;
  }
  return (err?: unknown) => {
    for (const s of spans) {
      if (err !== undefined) failed(s, err);
      s.end();
    }
  };
}

const SPAN_NAMES: Record<DestinationType, string> = { webhook: 'deliver webhook', workflow: 'run workflow' };

/** An executor whose every attempt is a span under the event's trace, active while it runs (the webhook's `traceparent` header reads it). */
export function tracedExecutor<T extends DestinationType>(executor: Executor<T>): Executor<T> {
  return {
    type: executor.type,
    ...(executor.timeoutMs !== undefined ? { timeoutMs: executor.timeoutMs } : {}),
    ...(executor.close ? { close: () => executor.close!() } : {}),
    execute(attempt: DeliveryAttempt<T>): Promise<AttemptOutcome> {
      if (!enabled) return executor.execute(attempt);
      const parent = contextOf((attempt.event as { traceparent?: unknown }).traceparent);
      const span = tracer.startSpan(
        SPAN_NAMES[executor.type],
        {
          kind: executor.type === 'webhook' ? SpanKind.CLIENT : SpanKind.INTERNAL,
          attributes: { 'forcehook.subscription_id': attempt.subscription.id, 'forcehook.event_id': attempt.event.id, 'forcehook.attempt': attempt.attempt },
        },
        parent,
      );
      return context.with(trace.setSpan(parent, span), async () => {
        try {
          const outcome = await executor.execute(attempt);
          span.setAttribute('forcehook.outcome', outcome.result);
          if (outcome.result !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error ?? outcome.result });
          return outcome;
        } catch (err) {
          failed(span, err);
          throw err;
        } finally {
          span.end();
        }
      });
    },
  };
}

export function tracedExecutors(executors: ExecutorRegistry): ExecutorRegistry {
  const out: ExecutorRegistry = {};
  if (executors.webhook) out.webhook = tracedExecutor(executors.webhook);
  if (executors.workflow) out.workflow = tracedExecutor(executors.workflow);
  return out;
}

/** The `traceparent` header of a request made inside a traced attempt; none while tracing is off. */
export function traceHeaders(): { traceparent?: string } {
  if (!enabled) return {};
  const tp = traceparentOf();
  return tp ? { traceparent: tp } : {};
}
