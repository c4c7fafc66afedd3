/**
 * The p50/p99 latency from commit to Kafka ack at a steady RATE changes/s.
 *
 * ORGS orgs share RATE through the emulator's activity (one process-wide 50 ms
 * ticker, so changes arrive in clumps of RATE/20). Two views of one window:
 *  - the service's own `forcehook_publish_latency_seconds` histogram (commit → ack,
 *    reset at the start of the window): bucket bounds, and quantiles interpolated
 *    inside a bucket the way Prometheus' histogram_quantile does;
 *  - exact per-event figures from Kafka: message timestamp (CreateTime, when the
 *    producer sent the batch) − commitTimestamp, i.e. commit → send;
 *  - end to end, when the instance delivers: the receiver's receipt time −
 *    the webhook body's commitTimestamp, for every event on Kafka with a commit in
 *    the window (missing ones counted; each receipt checked against Kafka).
 */
import { performance } from 'node:perf_hooks';
import type { Bench, BenchContext, Figures } from './lib.js';
import {
  createEventsTopic,
  createOrg,
  quantile,
  readTopic,
  round,
  sleep,
  startBenchService,
  startEmulatorProcess,
  uniquePrefix,
  type BenchService,
  type EventsReader,
  type OrgCredentials,
  type Receipts,
} from './lib.js';

const OBJECTS = ['Lead', 'Contact', 'Account', 'Opportunity'];

interface Bucket {
  le: number;
  count: number;
}

/** Prometheus-style histogram_quantile over cumulative buckets. */
function histogramQuantile(buckets: readonly Bucket[], q: number): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

type Roles = ('source' | 'delivery')[];

/**
 * Measured twice in one run: an instance with only the `source` role (how a
 * deployment keeps webhook work off the publishing event loop: delivery runs in
 * other instances) and one running both roles (the default), which also delivers
 * every event to the receiver on the same event loop.
 */
export const pipelineLatency: Bench = {
  name: 'pipeline-latency',
  perTransport: true,
  async run(ctx: BenchContext): Promise<Figures> {
    ctx.log('  instance with roles=source (delivery elsewhere):');
    const sourceOnly = await measure(ctx, ['source']);
    ctx.log('  instance with roles=source,delivery (the default):');
    const allRoles = await measure(ctx, undefined);
    return { sourceOnly, allRoles, targetP99Ms: 250, met: sourceOnly.met === true };
  },
};

async function measure(ctx: BenchContext, roles: Roles | undefined): Promise<Figures> {
  {
    const ORGS = 10;
    const RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1_000);
    const WINDOW_S = ctx.quick ? 8 : 20;
    const WARM_S = 3;
    const prefix = uniquePrefix('latency');
    const em = await startEmulatorProcess();
    let svc: BenchService | undefined;
    let reader: EventsReader | undefined;
    try {
      const partitions = await createEventsTopic(ctx, prefix);
      reader = await readTopic(ctx, prefix);
      svc = await startBenchService(ctx, { prefix, hookUrl: reader.hookUrl, emulator: em, ...(roles ? { roles } : {}) });
      const orgs: OrgCredentials[] = [];
      for (let i = 0; i < ORGS; i++) orgs.push(await createOrg(em, { cdcEntities: OBJECTS }));
      const ids: string[] = [];
      for (const o of orgs) ids.push(await svc.follow(o, OBJECTS));
      await svc.waitFollowing(ids, OBJECTS.length, 'cdc');
      ctx.log(`  ${ORGS} orgs followed by CDC; ${RATE} changes/s for ${WARM_S} s warm-up + ${WINDOW_S} s`);

      await Promise.all(
        orgs.map((o) => em.admin('POST', `/__emulator/orgs/${o.orgId}/activity`, { perSecond: RATE / ORGS, objects: OBJECTS, seconds: WARM_S + WINDOW_S })),
      );
      await sleep(WARM_S * 1000);
      const histogram = svc.service.metrics.publishLatency;
      histogram.reset();
      const w0 = Date.now();
      const cpu0 = process.cpuUsage();
      const elu0 = performance.eventLoopUtilization();
      const emCpu0 = await em.cpu();
      await sleep(WINDOW_S * 1000);
      const w1 = Date.now();
      const cpu1 = process.cpuUsage(cpu0);
      const elu = performance.eventLoopUtilization(elu0).utilization;
      const emCpu1 = await em.cpu();
      const snapshot = await histogram.get();
      // Let the tail of the window reach the reader and, when this instance delivers, the receiver.
      await sleep(1_000);
      const delivering = roles === undefined || roles.includes('delivery');
      let receipts: Receipts | undefined;
      if (delivering) {
        const r = reader;
        const deadline = Date.now() + 30_000;
        for (;;) {
          receipts = await r.receipts(w0, w1);
          if ((receipts.missing === 0 && receipts.expected > 0) || Date.now() > deadline) break;
          await sleep(250);
        }
      }
      const stamps = await reader.stamps();

      const buckets: Bucket[] = snapshot.values
        .filter((v) => v.metricName === 'forcehook_publish_latency_seconds_bucket')
        .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
        .sort((a, b) => a.le - b.le);
      const count = buckets.at(-1)?.count ?? 0;
      const bucketBound = (q: number) => {
        const b = buckets.find((x) => x.count >= q * count);
        return b ? (Number.isFinite(b.le) ? b.le * 1000 : null) : null;
      };
      const fractionWithin = (ms: number) => {
        const b = buckets.find((x) => x.le * 1000 === ms);
        return b && count > 0 ? round(b.count / count, 4) : null;
      };

      const inWindow = stamps.filter(([, commit]) => commit >= w0 && commit < w1);
      const lat = inWindow.map(([ts, commit]) => ts - commit).sort((a, b) => a - b);
      const histP99 = histogramQuantile(buckets, 0.99);
      const figures = {
        orgs: ORGS,
        eventsTopicPartitions: partitions,
        webhooksReceived: await reader.webhooks(),
        targetChangesPerS: RATE,
        windowS: round((w1 - w0) / 1000, 1),
        eventsAckedInWindow: count,
        eventsPerS: round(count / ((w1 - w0) / 1000), 0),
        commitToAckMs: {
          p50: round((histogramQuantile(buckets, 0.5) ?? NaN) * 1000, 1),
          p99: round((histP99 ?? NaN) * 1000, 1),
          p50BucketLe: bucketBound(0.5),
          p99BucketLe: bucketBound(0.99),
          within250ms: fractionWithin(250),
          source: 'forcehook_publish_latency_seconds (interpolated within buckets)',
        },
        commitToSendMs: {
          p50: quantile(lat, 0.5),
          p90: quantile(lat, 0.9),
          p99: quantile(lat, 0.99),
          max: lat.at(-1) ?? null,
          samples: lat.length,
          source: 'Kafka CreateTime - commitTimestamp',
        },
        commitToWebhookMs: receipts
          ? {
              p50: quantile(receipts.lat, 0.5),
              p90: quantile(receipts.lat, 0.9),
              p99: quantile(receipts.lat, 0.99),
              max: receipts.lat.at(-1) ?? null,
              samples: receipts.lat.length,
              expected: receipts.expected,
              missing: receipts.missing,
              mismatched: receipts.mismatched,
              source:
                "receiver's receipt time − the body's data.commitTimestamp (the emulator's commit), every event on Kafka with a commit in the window, checked against its commitTimestamp on Kafka",
            }
          : null,
        serviceCpuCores: round((cpu1.user + cpu1.system) / 1e6 / ((w1 - w0) / 1000), 2),
        serviceEventLoopUtilization: round(elu, 2),
        emulatorCpuCores: round((emCpu1.user + emCpu1.system - emCpu0.user - emCpu0.system) / 1e6 / ((w1 - w0) / 1000), 2),
        targetP99Ms: 250,
        met: (bucketBound(0.99) ?? Infinity) <= 250,
      };
      ctx.log(
        `  ${figures.eventsPerS} events/s acked; commit→ack p50 ~${figures.commitToAckMs.p50} ms (≤ ${figures.commitToAckMs.p50BucketLe}), p99 ~${figures.commitToAckMs.p99} ms (≤ ${figures.commitToAckMs.p99BucketLe}); ` +
          `commit→send exact p50 ${figures.commitToSendMs.p50} ms p99 ${figures.commitToSendMs.p99} ms; ` +
          (figures.commitToWebhookMs
            ? `commit→webhook receipt p50 ${figures.commitToWebhookMs.p50} ms p99 ${figures.commitToWebhookMs.p99} ms (${figures.commitToWebhookMs.samples}/${figures.commitToWebhookMs.expected}, ${figures.commitToWebhookMs.missing} missing, ${figures.commitToWebhookMs.mismatched} mismatched); `
            : 'no webhooks (delivery role off); ') +
          `service process ${figures.serviceCpuCores} cores (event loop ${figures.serviceEventLoopUtilization} busy), emulator ${figures.emulatorCpuCores} cores`,
      );
      return figures;
    } finally {
      await reader?.stop().catch(() => {});
      await svc?.stop().catch(() => {});
      await em.close();
    }
  }
}
