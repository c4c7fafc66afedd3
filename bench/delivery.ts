/**
 * Webhook delivery.
 *
 *  (a) deliveries/s of one instance to a fast local receiver (204, in another
 *      process), beside a raw undici POST baseline in the same run: same
 *      receiver, same concurrency (lanes × per-subscription concurrency), same
 *      body, same signing work per request (JSON.stringify of the event and one
 *      Standard Webhooks HMAC-SHA256 with node:crypto, as the executor), run from
 *      this process with no instance running. Paired rounds: raw, then the
 *      instance, each round; the ratio is the median of the pairs' ratios.
 *  (b) latency from Kafka to receipt at a steady rate (500 events/s): events are
 *      produced straight to `<prefix>.events` by the feeder (another process,
 *      `toKafkaMessage` of synthetic valid events), each message stamped with its
 *      CreateTime just before the produce; receipt − stamp per event.
 *
 * Feeding Kafka directly keeps the Salesforce side (emulator, CDC, publisher)
 * out of the measurement; the emulator only hosts the org the subscriptions
 * are validated against.
 */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { Bench, BenchContext, Figures } from './lib.js';
import {
  createEventsTopic,
  createOrg,
  forkTs,
  ipcCall,
  median,
  quantile,
  round,
  sleep,
  startBenchService,
  startEmulatorProcess,
  stopChild,
  uniquePrefix,
  waitForMessage,
  waitUntil,
  type BenchService,
} from './lib.js';

/** One subscription per object receives the feeder's record.created events: that many lanes. */
const OBJECTS = ['Lead', 'Contact', 'Account', 'Opportunity'];
/** The dispatcher's default per-subscription concurrency (DispatcherConfigSchema). */
const PER_SUBSCRIPTION_CONCURRENCY = 10;

interface Received {
  received: number;
  firstAt: number;
  lastAt: number;
  distinct: number;
}

/**
 * One POST with undici's low-level dispatch API and the least a caller can do
 * (status kept, body chunks ignored): the floor under any undici-based sender,
 * reported beside the `request()` baseline the target is set against.
 */
function dispatchPost(agent: Agent, target: URL, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0;
    agent.dispatch({ origin: target.origin, path: target.pathname, method: 'POST', headers, body }, {
      onConnect() {},
      onHeaders(s: number) {
        status = s;
        return true;
      },
      onData() {
        return true;
      },
      onComplete() {
        resolve(status);
      },
      onError(err: Error) {
        reject(err);
      },
    } as never);
  });
}

async function rawUndici(
  url: string,
  sample: Record<string, unknown>,
  n: number,
  concurrency: number,
  api: 'request' | 'dispatch' = 'request',
): Promise<{ requests: number; ms: number; perS: number; cpuCores: number; cpuUsPerRequest: number }> {
  const agent = new Agent({ connect: { timeout: 5_000 } });
  const target = new URL(url);
  // The signing the service does per attempt (Standard Webhooks v1, node:crypto HMAC-SHA256).
  const key = randomBytes(24);
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const event = { ...sample, id: randomUUID() };
      const body = JSON.stringify(event);
      const now = Date.now();
      const headers = {
        'content-type': 'application/cloudevents+json',
        'user-agent': 'forcehook-webhooks/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(Math.floor(now / 1000)),
        'webhook-signature': `v1,${createHmac('sha256', key)
          .update(`${event.id}.${Math.floor(now / 1000)}.`)
          .update(body)
          .digest('base64')}`,
      };
      if (api === 'dispatch') {
        if ((await dispatchPost(agent, target, headers, body)) !== 204) failed++;
        continue;
      }
      const res = await request(url, { method: 'POST', headers, body, dispatcher: agent });
      await res.body.text();
      if (res.statusCode !== 204) failed++;
    }
  };
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  await agent.close();
  if (failed) throw new Error(`raw baseline: ${failed} requests not answered 204`);
  return {
    requests: n,
    ms: Math.round(ms),
    perS: Math.round(n / (ms / 1000)),
    cpuCores: round((cpu.user + cpu.system) / 1e3 / ms, 2)!,
    cpuUsPerRequest: Math.round((cpu.user + cpu.system) / n),
  };
}

/** BENCH_PROFILE=<path>: a CPU profile of this process per round, from the first receipt to the last (`<path>.<round>.cpuprofile`). */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

export const delivery: Bench = {
  name: 'delivery',
  async run(ctx: BenchContext): Promise<Figures> {
    const RATE = Number(process.env.BENCH_DELIVERY_RATE ?? 500);
    const WINDOW_S = ctx.quick ? 8 : 20;
    const concurrency = OBJECTS.length * PER_SUBSCRIPTION_CONCURRENCY;
    const prefix = uniquePrefix('delivery');
    const em = await startEmulatorProcess();
    const child = forkTs('delivery-child.ts', [ctx.brokers.join(','), prefix]);
    let svc: BenchService | undefined;
    try {
      const ready = await waitForMessage<{ hookUrl: string }>(child, (m) => (m as { event?: string }).event === 'ready', 60_000, 'delivery child ready');
      const partitions = await createEventsTopic(ctx, prefix);
      svc = await startBenchService(ctx, { prefix, hookUrl: ready.hookUrl });
      const org = await createOrg(em, { cdcEntities: OBJECTS });
      const connectionId = await svc.follow(org, OBJECTS);
      await svc.waitFollowing([connectionId], OBJECTS.length, 'cdc');
      const feederOrg = { orgId: org.orgId, connectionId, objects: OBJECTS };
      const received = () => ipcCall<Received>(child, { op: 'received' });
      const reset = () => ipcCall<boolean>(child, { op: 'reset' });
      const waitReceived = (n: number, timeoutMs: number, what: string) => waitUntil(async () => (await received()).distinct >= n, timeoutMs, what, 100);

      // Warm-up: connections open, code paths compiled, consumer groups joined.
      const warm = ctx.quick ? 500 : 1_000;
      await ipcCall(child, { op: 'backlog', org: feederOrg, n: warm });
      await waitReceived(warm, 60_000, `${warm} warm-up webhooks`);
      await sleep(500);

      const sample = await ipcCall<Record<string, unknown>>(child, { op: 'sample', org: feederOrg });
      const structured = { ...sample, partitionkey: `${org.orgId}:${(sample.data as { recordId: string }).recordId}` };
      const bodyBytes = Buffer.byteLength(JSON.stringify(structured));

      // Paired rounds: each round's backlog is produced, then the raw baseline
      // posts as many requests, then a delivery-only instance drains the backlog.
      // Raw and service run back to back, so drift over the run (GC state, the
      // broker, the host) hits both alike; the ratio is the median of the pairs'.
      // Each round's events are on Kafka before the instance starts (the feeder
      // shares its process with the receiver, so feeding during the measurement
      // would slow the receiver, not us); its rate is receipts / (last − first
      // receipt), CPU from its first receipt (start-up is not delivery work).
      const ROUND = Number(process.env.BENCH_DELIVERY_ROUND ?? (ctx.quick ? 8_000 : 10_000));
      const ROUNDS = Number(process.env.BENCH_DELIVERY_ROUNDS ?? (ctx.quick ? 3 : 5));
      ctx.log(
        `  ${ROUNDS} paired rounds of ${ROUND}: raw undici (${ROUND} signed POSTs of ${bodyBytes} B, ${concurrency} at a time), then the same number of events on ${prefix}.events drained by a delivery-only instance (${OBJECTS.length} subscriptions × ${PER_SUBSCRIPTION_CONCURRENCY} in flight)`,
      );
      await rawUndici(ready.hookUrl, structured, 2_000, concurrency); // its own warm-up
      await svc.stop();
      svc = undefined;
      const rounds: {
        perS: number;
        rawPerS: number;
        ratio: number;
        rawDispatchPerS: number;
        ratioToDispatch: number;
        cpuCores: number;
        elu: number;
        wallMs: number;
        cpuUsPerDelivery: number;
        rawCpuUsPerRequest: number;
      }[] = [];
      let fed = { ms: 0 };
      let got: Received = { received: 0, firstAt: 0, lastAt: 0, distinct: 0 };
      for (let r = 0; r < ROUNDS; r++) {
        fed = await ipcCall<{ ms: number }>(child, { op: 'backlog', org: feederOrg, n: ROUND }, 300_000);
        await sleep(300);
        await reset();
        const rawProfiler = process.env.BENCH_PROFILE && r === 1 ? await startProfile() : undefined;
        const raw = await rawUndici(ready.hookUrl, structured, ROUND, concurrency);
        if (rawProfiler) await rawProfiler(`${process.env.BENCH_PROFILE}.raw.cpuprofile`);
        await sleep(300);
        await reset();
        const rawDispatch = await rawUndici(ready.hookUrl, structured, ROUND, concurrency, 'dispatch');
        await sleep(300);
        await reset();
        const base = (await received()).distinct;
        const dlv = await startBenchService(ctx, { prefix, roles: ['delivery'] });
        try {
          await waitUntil(async () => (await received()).distinct > base, 60_000, 'the first webhook', 10);
          const before = (await received()).distinct - base;
          const profiler = process.env.BENCH_PROFILE ? await startProfile() : undefined;
          const cpu0 = process.cpuUsage();
          const elu0 = performance.eventLoopUtilization();
          const t0 = Date.now();
          await waitReceived(base + ROUND, 240_000, `${ROUND} webhooks`);
          const wall = Date.now() - t0;
          const cpu = process.cpuUsage(cpu0);
          if (profiler) await profiler(`${process.env.BENCH_PROFILE}.${r}.cpuprofile`);
          got = await received();
          const perS = Math.round(got.received / (Math.max(1, got.lastAt - got.firstAt) / 1000));
          rounds.push({
            perS,
            rawPerS: raw.perS,
            ratio: round(perS / raw.perS, 2)!,
            rawDispatchPerS: rawDispatch.perS,
            ratioToDispatch: round(perS / rawDispatch.perS, 2)!,
            cpuCores: round((cpu.user + cpu.system) / 1e3 / wall, 2)!,
            elu: round(performance.eventLoopUtilization(elu0).utilization, 2)!,
            wallMs: wall,
            cpuUsPerDelivery: Math.round((cpu.user + cpu.system) / Math.max(1, ROUND - before)),
            rawCpuUsPerRequest: raw.cpuUsPerRequest,
          });
          ctx.log(
            `    round ${r + 1}: ${perS} deliveries/s (${rounds.at(-1)!.cpuUsPerDelivery} µs CPU each) vs raw request() ${raw.perS}/s (${raw.cpuUsPerRequest} µs): ${rounds.at(-1)!.ratio}; vs raw dispatch ${rawDispatch.perS}/s (${rawDispatch.cpuUsPerRequest} µs): ${rounds.at(-1)!.ratioToDispatch}`,
          );
        } finally {
          await dlv.stop();
        }
      }
      const mid = [...rounds].sort((x, y) => x.perS - y.perS)[Math.floor(rounds.length / 2)]!;
      const servicePerS = mid.perS;
      const rawPerS = median(rounds.map((r) => r.rawPerS))!;
      const ratioToRaw = median(rounds.map((r) => r.ratio))!;
      const ratioToRawDispatch = median(rounds.map((r) => r.ratioToDispatch))!;
      const cpu = { user: mid.cpuCores * mid.wallMs * 1e3, system: 0 };
      const wall = mid.wallMs;
      const elu = mid.elu;
      // The steady-rate latency below runs on an instance with both roles, as deployed by default.
      svc = await startBenchService(ctx, { prefix, hookUrl: ready.hookUrl });
      await svc.waitFollowing([connectionId], OBJECTS.length, 'cdc');
      await sleep(1_000);

      ctx.log(`  latency: ${RATE} events/s for ${WINDOW_S} s`);
      const lcpu0 = process.cpuUsage();
      const lelu0 = performance.eventLoopUtilization();
      const l0 = Date.now();
      const steady = await ipcCall<{ produced: number }>(child, { op: 'steady', org: feederOrg, rate: RATE, seconds: WINDOW_S }, (WINDOW_S + 60) * 1000);
      const lwall = Date.now() - l0;
      const lcpu = process.cpuUsage(lcpu0);
      const lelu = performance.eventLoopUtilization(lelu0).utilization;
      await waitUntil(async () => (await ipcCall<{ missing: number }>(child, { op: 'latencies' })).missing === 0, 30_000, 'every steady-phase webhook').catch(
        () => undefined,
      );
      const { lat, missing } = await ipcCall<{ lat: number[]; missing: number }>(child, { op: 'latencies' });

      const p99 = quantile(lat, 0.99);
      const figures = {
        eventsTopicPartitions: partitions,
        subscriptions: OBJECTS.length,
        concurrency,
        bodyBytes,
        throughput: {
          deliveriesPerRound: ROUND,
          rounds: rounds.map((r) => r.perS),
          pairs: rounds.map((r) => ({
            deliveriesPerS: r.perS,
            rawPerS: r.rawPerS,
            ratio: r.ratio,
            rawDispatchPerS: r.rawDispatchPerS,
            ratioToDispatch: r.ratioToDispatch,
            cpuUsPerDelivery: r.cpuUsPerDelivery,
            rawCpuUsPerRequest: r.rawCpuUsPerRequest,
          })),
          deliveriesPerS: servicePerS,
          feederMs: fed.ms,
          wallMs: wall,
          serviceCpuCores: round((cpu.user + cpu.system) / 1e3 / wall, 2),
          serviceEventLoopUtilization: round(elu, 2),
          serviceCpuUsPerDelivery: mid.cpuUsPerDelivery,
        },
        rawUndici: { rounds: rounds.map((r) => r.rawPerS), medianPerS: rawPerS, cpuUsPerRequest: median(rounds.map((r) => r.rawCpuUsPerRequest)) },
        ratioToRaw,
        rawUndiciDispatch: { rounds: rounds.map((r) => r.rawDispatchPerS), medianPerS: median(rounds.map((r) => r.rawDispatchPerS)) },
        ratioToRawDispatch,
        latency: {
          ratePerS: RATE,
          windowS: WINDOW_S,
          produced: steady.produced,
          missing,
          kafkaToReceiptMs: { p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), p99, max: lat.at(-1) ?? null, samples: lat.length },
          serviceCpuCores: round((lcpu.user + lcpu.system) / 1e3 / lwall, 2),
          serviceEventLoopUtilization: round(lelu, 2),
          source: 'receipt time − message CreateTime (stamped by the feeder just before the produce)',
        },
        targets: { ratioToRaw: 0.8, p99Ms: 100 },
        met: ratioToRaw >= 0.8 && p99 !== null && p99 <= 100 && missing === 0,
      };
      ctx.log(
        `  ${servicePerS} deliveries/s vs raw undici ${rawPerS}/s (medians); ratio ${ratioToRaw} (median of the pairs ${rounds.map((r) => r.ratio).join('/')}); ${ratioToRawDispatch} of raw dispatch; CPU per delivery ${mid.cpuUsPerDelivery} µs vs ${figures.rawUndici.cpuUsPerRequest} µs per raw POST`,
      );
      ctx.log(
        `  Kafka → receipt at ${RATE}/s: p50 ${figures.latency.kafkaToReceiptMs.p50} ms, p99 ${p99} ms, max ${figures.latency.kafkaToReceiptMs.max} ms (${lat.length} samples, ${missing} missing)`,
      );
      return figures;
    } finally {
      await svc?.stop().catch(() => {});
      await stopChild(child).catch(() => {});
      await em.close();
    }
  },
};
