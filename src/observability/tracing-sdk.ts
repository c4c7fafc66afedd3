/**
 * The OpenTelemetry SDK, wired from OpenTelemetry's own environment variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
 * off unless OTEL_TRACES_EXPORTER is set. `otlp` exports over HTTP, protobuf by
 * default or JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json, to
 * OTEL_EXPORTER_OTLP_ENDPOINT (the exporters read the endpoint, headers and
 * timeout variables themselves); `console` prints spans. OTEL_TRACES_SAMPLER
 * (and _ARG) choose the sampler, as the SDK reads them; OTEL_SERVICE_NAME names
 * the service (default `forcehook`). A value the SDK would only warn about stops
 * start-up here, naming the variable, like every other setting.
 */
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setTracingEnabled } from './tracing.js';

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

export interface Tracing {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

function exporterFrom(env: NodeJS.ProcessEnv): SpanExporter {
  const kind = env.OTEL_TRACES_EXPORTER!.trim();
  if (kind === 'console') return new ConsoleSpanExporter();
  if (kind !== 'otlp') throw new Error(`OTEL_TRACES_EXPORTER: '${kind}' is not supported (otlp, console or none)`);
  const protocolVar = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[protocolVar] ?? 'http/protobuf').trim();
  if (protocol === 'http/json') return new OTLPJsonExporter();
  if (protocol === 'http/protobuf') return new OTLPProtoExporter();
  throw new Error(`${protocolVar}: '${protocol}' is not supported (http/protobuf or http/json)`);
}

/**
 * Registers the SDK when OTEL_TRACES_EXPORTER asks for it; undefined when tracing
 * stays off. `processor` replaces the exporter (tests use an in-memory one).
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env, processor?: SpanProcessor): Tracing | undefined {
  const kind = env.OTEL_TRACES_EXPORTER?.trim();
  if (!processor && (!kind || kind === 'none')) return undefined;
  const sampler = env.OTEL_TRACES_SAMPLER?.trim();
  if (sampler && !SAMPLERS.includes(sampler)) throw new Error(`OTEL_TRACES_SAMPLER: '${sampler}' is not supported (${SAMPLERS.join(', ')})`);
  const arg = env.OTEL_TRACES_SAMPLER_ARG;
  if (arg !== undefined && sampler?.endsWith('traceidratio') && !(Number(arg) >= 0 && Number(arg) <= 1)) {
    throw new Error(`OTEL_TRACES_SAMPLER_ARG: '${arg}' is not a ratio between 0 and 1`);
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || 'forcehook' }),
    spanProcessors: [processor ?? new BatchSpanProcessor(exporterFrom(env))],
  });
  // The global provider, AsyncLocalStorage context and the W3C trace-context propagator.
  provider.register();
  setTracingEnabled(true);
  return {
    async shutdown() {
      setTracingEnabled(false);
      await provider.shutdown();
    },
  };
}
