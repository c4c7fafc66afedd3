import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTracing } from './tracing-sdk.js';
import { tracingEnabled } from './tracing.js';

describe('tracing from the OTEL_* variables', () => {
  it('is off unless OTEL_TRACES_EXPORTER is set', () => {
    expect(startTracing({})).toBeUndefined();
    expect(startTracing({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toBeUndefined();
    expect(tracingEnabled()).toBe(false);
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG'],
  ])('a value it cannot use stops start-up naming the variable: %j', (env, name) => {
    expect(() => startTracing(env)).toThrow(new RegExp(`^${name}: `));
    expect(tracingEnabled()).toBe(false);
  });

  it('exports spans as OTLP http/json to OTEL_EXPORTER_OTLP_ENDPOINT, named by OTEL_SERVICE_NAME', async () => {
    const got: { path: string; type: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The exporter reads the endpoint from the environment, as any OpenTelemetry SDK does.
    const saved = { ...process.env };
    Object.assign(process.env, {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'forcehook-test',
    });
    try {
      const tracing = startTracing(process.env)!;
      expect(tracingEnabled()).toBe(true);
      trace.getTracer('test').startSpan('a span').end();
      await tracing.shutdown();
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(got).toHaveLength(1);
    expect(got[0]!.path).toBe('/v1/traces');
    expect(got[0]!.type).toMatch(/^application\/json/);
    expect(got[0]!.body).toContain('"a span"');
    expect(got[0]!.body).toContain('forcehook-test');
  });
});
