/**
 * One change, one trace: a Lead created in the org is received (CometD), published
 * to Kafka, delivered to a webhook that fails once and then accepts, and run by a
 * workflow (the shipped lead-followup). The SDK's
 * in-memory exporter holds the spans: one trace whose spans cover each hop with
 * the right parent; the event carries the publish span's `traceparent` (the
 * CloudEvents distributed-tracing extension, `ce_traceparent` on Kafka) and each
 * webhook request its attempt span's.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { startTracing, type Tracing } from '../../src/observability/tracing-sdk.js';
import { connect } from '../../testkit/connections.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';
import { createOrg, orgUser, readEvents, startTestEmulator, startTestService, waitUntil, type EventsReader, type TestService } from '../../testkit/service.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let emulator: RunningEmulator;
let svc: TestService;
let rx: Receiver;
let reader: EventsReader;
let leadId: string;

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

beforeAll(async () => {
  tracing = startTracing({}, new SimpleSpanProcessor(exporter));
  emulator = await startTestEmulator();
  const org = await createOrg(emulator.url);
  const prefix = uniquePrefix('tracing');
  svc = await startTestService({ prefix, retrySchedule: [200, 400], workflows: ['lead-followup'] });
  reader = await readEvents(prefix);
  let calls = 0;
  rx = await startReceiver({ behave: () => ({ status: ++calls === 1 ? 503 : 200 }) });
  const connectionId = await connect(svc.api, org);
  const s = await svc.api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
    connectionId,
    trigger: 'record.created',
    object: 'Lead',
    destination: { type: 'webhook', url: rx.url },
  });
  rx.secrets = [s.body.secret];
  const w = await svc.api('POST', '/v1/subscriptions', {
    connectionId,
    trigger: 'record.created',
    object: 'Lead',
    destination: { type: 'workflow', workflow: 'lead-followup' },
  });
  expect(w.status, JSON.stringify(w.body)).toBe(201);
  await waitUntil(
    async () => {
      const r = await svc.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
      return r.body.subscriber === 'running' && r.body.objects.some((o) => o.object === 'Lead' && o.mode === 'cdc');
    },
    30_000,
    'Lead followed by cdc',
  );
  leadId = (await orgUser(org).sobject('Lead').create({ LastName: 'Hamilton', Company: 'Apollo' })).id!;
  await waitUntil(() => rx.received.some((x) => x.event.subject === leadId), 30_000, 'the webhook, accepted on its second attempt');
  // The accepted attempt's span ends once its outcome is known.
  await waitUntil(
    () =>
      exporter.getFinishedSpans().filter((x) => x.name === 'deliver webhook').length >= 2 && exporter.getFinishedSpans().some((x) => x.name === 'run workflow'),
    20_000,
    'both attempt spans and the workflow run',
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(exporter.getFinishedSpans().map((x) => [x.name, x.attributes]))} requests ${rx.requests}`);
  });
}, 120_000);

afterAll(async () => {
  await rx?.close();
  await reader?.stop();
  await svc?.stop();
  await emulator?.close();
  await tracing?.shutdown();
});

describe('a change traced from receipt to webhook', () => {
  it('is one trace: receive → publish → each delivery attempt and the workflow run', () => {
    const spans = exporter.getFinishedSpans();
    const receive = spans.filter((s) => s.name === 'receive Lead' && s.attributes['forcehook.change_type'] === 'CREATE');
    expect(receive).toHaveLength(1);
    const traceId = receive[0]!.spanContext().traceId;
    const trace = spans.filter((s) => s.spanContext().traceId === traceId);
    expect(parentOf(receive[0]!)).toBeUndefined();
    expect(receive[0]!.attributes['forcehook.detected_by']).toBe('cdc');
    const publish = trace.filter((s) => s.name === 'publish events');
    expect(publish).toHaveLength(1);
    expect(parentOf(publish[0]!)).toBe(receive[0]!.spanContext().spanId);
    const attempts = trace
      .filter((s) => s.name === 'deliver webhook')
      .sort((a, b) => Number(a.attributes['forcehook.attempt']) - Number(b.attributes['forcehook.attempt']));
    expect(attempts.map((a) => [a.attributes['forcehook.attempt'], a.attributes['forcehook.outcome']])).toEqual([
      [1, 'retry'],
      [2, 'delivered'],
    ]);
    for (const a of attempts) expect(parentOf(a)).toBe(publish[0]!.spanContext().spanId);
    const runs = trace.filter((s) => s.name === 'run workflow');
    expect(runs.map((r) => r.attributes['forcehook.outcome'])).toEqual(['delivered']);
    expect(parentOf(runs[0]!)).toBe(publish[0]!.spanContext().spanId);
    // Nothing else in the trace: every span is one of the hops.
    expect(trace).toHaveLength(1 + 1 + attempts.length + runs.length);
  });

  it('carries the trace context across Kafka and to the receiver', async () => {
    const spans = exporter.getFinishedSpans();
    const publish = spans.find((s) => s.name === 'publish events')!;
    const { traceId, spanId } = publish.spanContext();
    await waitUntil(() => reader.events.some((e) => e.subject === leadId), 10_000, 'the event on Kafka');
    const onKafka = reader.raw.find((m) => m.headers.ce_subject === leadId)!;
    expect(onKafka.headers.ce_traceparent).toBe(`00-${traceId}-${spanId}-01`);
    const requests = rx.received.filter((x) => x.event.subject === leadId);
    const accepted = spans.find((s) => s.name === 'deliver webhook' && s.attributes['forcehook.outcome'] === 'delivered')!;
    expect(requests.at(-1)!.headers.traceparent).toBe(`00-${traceId}-${accepted.spanContext().spanId}-01`);
    expect(requests.at(-1)!.event.traceparent as string).toBe(`00-${traceId}-${spanId}-01`);
  });
});
