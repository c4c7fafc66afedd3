/**
 * `npm run bench`: runs the benchmarks one after the other against one shared
 * Kafka broker (acquireBroker: KAFKA_BROKERS, Testcontainers or the local jars),
 * prints a human-readable line per step while it goes and, LAST, one JSON line
 * with every figure, the machine it ran on and a `summary` of the headline
 * figures with their targets.
 *
 *   BENCH_ONLY=emulator-scale,pipeline-latency   run only these
 *   BENCH_QUICK=1                                smaller sizes, shorter windows (~2 min)
 *   BENCH_TRANSPORTS=cometd,pubsub               CDC transports of the per-transport benches (both by default)
 *   BENCH_KAFKA_CLIENTS=kafkajs,platformatic     run each bench once per Kafka client library, in this order
 *                                                (default: FORCEHOOK_KAFKA_CLIENT, else the default client)
 *   LOG_LEVEL=warn                               show the service's and emulator's logs
 */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { acquireBroker, type AcquiredBroker } from '../src/kafka/broker.js';
import { KAFKA_CLIENTS, kafkaClientFromEnv, type KafkaClientName } from '../src/kafka/index.js';
import { startTracing } from '../src/observability/tracing-sdk.js';
import { delivery } from './delivery.js';
import { emulatorScale } from './emulator-scale.js';
import { orgScale } from './org-scale.js';
import { overflowReconcile } from './overflow-reconcile.js';
import { benchLogger, round, takeLogCounts, type Bench, type BenchContext, type Figures } from './lib.js';
import { pipelineLatency } from './pipeline-latency.js';
import { pipelineThroughput } from './pipeline-throughput.js';
import { pollingApiCalls } from './polling-api-calls.js';
import { headlineFigures } from './summary.js';

const ALL: { bench: Bench; needsKafka: boolean; timeoutMs: number }[] = [
  { bench: emulatorScale, needsKafka: false, timeoutMs: 240_000 },
  { bench: pipelineThroughput, needsKafka: true, timeoutMs: 180_000 },
  { bench: pipelineLatency, needsKafka: true, timeoutMs: 150_000 },
  { bench: pollingApiCalls, needsKafka: true, timeoutMs: 120_000 },
  { bench: delivery, needsKafka: true, timeoutMs: 240_000 },
  { bench: orgScale, needsKafka: true, timeoutMs: 900_000 },
  { bench: overflowReconcile, needsKafka: true, timeoutMs: 900_000 },
];

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only.filter((n) => !ALL.some((b) => b.bench.name === n));
if (unknown.length > 0) {
  console.error(`BENCH_ONLY: unknown bench ${unknown.join(', ')}; known: ${ALL.map((b) => b.bench.name).join(', ')}`);
  process.exit(2);
}
const selected = ALL.filter((b) => only.length === 0 || only.includes(b.bench.name));
const clientList = (process.env.BENCH_KAFKA_CLIENTS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const badClient = clientList.find((c) => !(KAFKA_CLIENTS as readonly string[]).includes(c));
if (badClient) {
  console.error(`BENCH_KAFKA_CLIENTS: unknown client ${badClient}; known: ${KAFKA_CLIENTS.join(', ')}`);
  process.exit(2);
}
const clients: KafkaClientName[] = clientList.length ? (clientList as KafkaClientName[]) : [kafkaClientFromEnv()];
/** The first client's results keep the bench's name (the summary reads them); the others get `<bench>@<client>`. */
const resultKey = (bench: string, client: KafkaClientName): string => (client === clients[0] ? bench : `${bench}@${client}`);
const transports = (process.env.BENCH_TRANSPORTS ?? 'cometd,pubsub')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const badTransport = transports.find((t) => t !== 'cometd' && t !== 'pubsub');
if (badTransport !== undefined || transports.length === 0) {
  console.error(`BENCH_TRANSPORTS: expected cometd and/or pubsub, got '${process.env.BENCH_TRANSPORTS}'`);
  process.exit(2);
}
type Transport = 'cometd' | 'pubsub';
/**
 * One run per bench, client and (for the benches that follow CDC) transport. The CometD run keeps the
 * plain name, another transport adds `:<transport>`; the first client keeps it, another adds `@<client>`.
 */
const runs = selected.flatMap((s) =>
  (s.needsKafka ? clients : clients.slice(0, 1)).flatMap((client) =>
    (s.bench.perTransport ? (transports as Transport[]) : [undefined]).map((transport) => ({
      ...s,
      client,
      transport,
      key: resultKey(transport && transport !== 'cometd' ? `${s.bench.name}:${transport}` : s.bench.name, client),
    })),
  ),
);

// The service under measurement runs in this process: the OTEL_* variables trace it as they would `serve`.
const tracing = startTracing();

const load = () => loadavg().map((l) => round(l, 2));
const log = (line: string) => console.log(line);
const logger = benchLogger();

const started = Date.now();
const machine = {
  cores: cpus().length,
  availableParallelism: availableParallelism(),
  cpuModel: cpus()[0]?.model ?? 'unknown',
  totalMemMiB: Math.round(totalmem() / 1024 / 1024),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  loadAvgAtStart: load(),
};
log(`forcehook bench${quick ? ' (quick)' : ''}: ${runs.map((r) => r.key).join(', ')}`);
log(`machine: ${machine.cores} cores (${machine.cpuModel}), node ${machine.node}, load average ${machine.loadAvgAtStart.join(' ')}`);

let broker: AcquiredBroker | undefined;
let stopping = false;
const cleanup = async () => {
  if (broker) {
    const b = broker;
    broker = undefined;
    await b.stop().catch((err: unknown) => console.error(`stopping the broker: ${String(err)}`));
  }
};
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    console.error(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

const results: Record<string, Figures> = {};
let brokerInfo: { kind: string; brokers: string; startMs: number } | undefined;
try {
  if (selected.some((b) => b.needsKafka)) {
    const t = Date.now();
    broker = await acquireBroker({ logger });
    brokerInfo = { kind: broker.kind, brokers: broker.brokers, startMs: Date.now() - t };
    log(`kafka: ${broker.kind} at ${broker.brokers} (ready in ${brokerInfo.startMs} ms)`);
  }
  for (const { bench: b, timeoutMs, client, transport, key } of runs) {
    const ctx: BenchContext = {
      brokers: broker ? broker.brokers.split(',').map((s) => s.trim()) : [],
      quick,
      log,
      logger,
      kafkaClient: client,
      ...(transport ? { transport } : {}),
    };
    const bench = { ...b, name: key };
    const loadBefore = load();
    log(`[${bench.name}] start (load average ${loadBefore.join(' ')})`);
    const t = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const figures = await Promise.race([
        bench.run(ctx),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      results[bench.name] = {
        ...(transport ? { transport } : {}),
        ...figures,
        serviceLog: takeLogCounts(),
        seconds: round((Date.now() - t) / 1000, 1),
        loadAvgBefore: loadBefore,
        loadAvgAfter: load(),
      };
      log(`[${bench.name}] done in ${round((Date.now() - t) / 1000, 1)} s (load average ${load().join(' ')})`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      results[bench.name] = {
        error: message,
        serviceLog: takeLogCounts(),
        seconds: round((Date.now() - t) / 1000, 1),
        loadAvgBefore: loadBefore,
        loadAvgAfter: load(),
      };
      log(`[${bench.name}] FAILED: ${message}`);
    } finally {
      clearTimeout(timer);
      const counted = (results[bench.name]?.serviceLog ?? {}) as Record<string, number>;
      for (const [line, n] of Object.entries(counted).slice(0, 5)) log(`  log ×${n} ${line}`);
    }
  }
} finally {
  await cleanup();
  await tracing?.shutdown().catch(() => undefined);
}

const report = {
  bench: 'forcehook',
  quick,
  startedAt: new Date(started).toISOString(),
  seconds: round((Date.now() - started) / 1000, 1),
  machine: { ...machine, loadAvgAtEnd: load() },
  tracing: process.env.OTEL_TRACES_EXPORTER
    ? { exporter: process.env.OTEL_TRACES_EXPORTER, sampler: process.env.OTEL_TRACES_SAMPLER ?? null, samplerArg: process.env.OTEL_TRACES_SAMPLER_ARG ?? null }
    : null,
  kafka: brokerInfo ?? null,
  // The headline figures of the benches that ran, with their targets (bench/summary.ts).
  kafkaClients: clients,
  summary: headlineFigures(results),
  // The same headline figures for every client of the run, side by side (the first is `summary` too).
  summaryByClient:
    clients.length > 1
      ? Object.fromEntries(
          clients.map((c) => [
            c,
            headlineFigures(
              Object.fromEntries(
                Object.entries(results).flatMap(([k, v]) => {
                  const [name, client] = k.split('@');
                  return (client ?? clients[0]) === c ? [[name!, v]] : [];
                }),
              ),
            ),
          ]),
        )
      : undefined,
  results,
};
console.log(JSON.stringify(report));
process.exit(Object.values(results).some((r) => 'error' in r) ? 1 : 0);
