/**
 * Events per second from emulator commit to Kafka ack on one service
 * instance, beside a raw kafkajs producer sending the same messages (the client's
 * limit) and kcat sending them too (librdkafka: the broker's limit on this
 * machine), all in the same run.
 *
 * ORGS orgs follow Lead/Contact/Account/Opportunity by CDC. Two measurements:
 *  - live burst: the emulator's activity makes RATE changes/s in aggregate for a few
 *    seconds while the service follows; rate = events / (last Kafka timestamp −
 *    first commitTimestamp). Bounded by the generator as well as the pipeline, so the
 *    generator's own rate is reported beside it.
 *  - catch-up: the service is stopped, a backlog of changes is made, a new instance
 *    starts on the same topics (state and checkpoints from Kafka) and replays it;
 *    rate = events / (last − first Kafka timestamp of the backlog): the pipeline's
 *    capacity (CometD delivery → normalize → detect → publish), with no generator bound.
 *    The new instance runs the source role only (delivery elsewhere, as
 *    pipeline-latency's `sourceOnly`): with both roles the same event loop also
 *    delivers every replayed event as a webhook, which is delivery's cost, not the
 *    pipeline's (BENCH_CATCHUP_ROLES=source,delivery measures that instead).
 * Kafka timestamps are CreateTime, set by the producer when it sends the batch.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

const CATCHUP_ROLES = (process.env.BENCH_CATCHUP_ROLES ?? 'source').split(',').map((r) => r.trim()) as ('source' | 'delivery')[];
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
  waitUntil,
  type BenchService,
  type EmulatorProcess,
  type EventsReader,
  type OrgCredentials,
  type Stamp,
} from './lib.js';

const OBJECTS = ['Lead', 'Contact', 'Account', 'Opportunity'];
/** Per produce request of the raw baseline: under the broker's default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 900_000;

async function eventsPublished(em: EmulatorProcess): Promise<number> {
  return (await em.admin<{ eventsPublished: number }>('GET', '/__emulator/stats')).eventsPublished;
}

async function activity(em: EmulatorProcess, orgs: readonly OrgCredentials[], total: number, seconds: number): Promise<void> {
  await Promise.all(orgs.map((o) => em.admin('POST', `/__emulator/orgs/${o.orgId}/activity`, { perSecond: total / orgs.length, objects: OBJECTS, seconds })));
}

/** Waits until the emulator stopped generating and the reader holds every event made so far (or no progress for stallMs). */
async function settle(em: EmulatorProcess, reader: EventsReader, from: number, base: number, stallMs = 20_000): Promise<number> {
  let last = -1;
  let stable = 0;
  for (;;) {
    const now = await eventsPublished(em);
    if (now === last) stable++;
    else stable = 0;
    last = now;
    if (stable >= 3) break;
    await sleep(300);
  }
  const expected = last - base;
  let seen = await reader.count();
  let progressAt = Date.now();
  for (let n = seen; n - from < expected; n = await reader.count()) {
    if (n !== seen) {
      seen = n;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs) break;
    await sleep(100);
  }
  return expected;
}

function spanFigures(stamps: readonly Stamp[]) {
  let firstCommit = Infinity;
  let lastCommit = -Infinity;
  let firstTs = Infinity;
  let lastTs = -Infinity;
  for (const [ts, commit] of stamps) {
    firstCommit = Math.min(firstCommit, commit);
    lastCommit = Math.max(lastCommit, commit);
    firstTs = Math.min(firstTs, ts);
    lastTs = Math.max(lastTs, ts);
  }
  const lat = stamps.map(([ts, commit]) => ts - commit).sort((a, b) => a - b);
  return { firstCommit, lastCommit, firstTs, lastTs, lat };
}

/** CPU cores used over a span by this process (the service instance and the webhook receiver) and by the emulator. */
function cores(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage, ea: NodeJS.CpuUsage, eb: NodeJS.CpuUsage, ms: number, elu: EventLoopUtilization) {
  return {
    /** Share of the span the bench process's main thread was busy (1 = saturated). */
    benchProcessEventLoopUtilization: round(performance.eventLoopUtilization(elu).utilization, 2),
    benchProcess: round((b.user + b.system - a.user - a.system) / 1e3 / ms, 2),
    emulator: round((eb.user + eb.system - ea.user - ea.system) / 1e3 / ms, 2),
  };
}

export const pipelineThroughput: Bench = {
  name: 'pipeline-throughput',
  perTransport: true,
  async run(ctx: BenchContext): Promise<Figures> {
    const ORGS = ctx.quick ? 8 : 16;
    const RATE = Number(process.env.BENCH_THROUGHPUT_RATE ?? 8_000);
    const BURST_S = ctx.quick ? 3 : 6;
    const BACKLOG = ctx.quick ? 15_000 : 40_000;
    const prefix = uniquePrefix('throughput');
    const em = await startEmulatorProcess();
    let svc: BenchService | undefined;
    let reader: EventsReader | undefined;
    try {
      const partitions = await createEventsTopic(ctx, prefix);
      reader = await readTopic(ctx, prefix);
      svc = await startBenchService(ctx, { prefix, hookUrl: reader.hookUrl, emulator: em });
      const orgs: OrgCredentials[] = [];
      for (let i = 0; i < ORGS; i++) orgs.push(await createOrg(em, { cdcEntities: OBJECTS }));
      const ids: string[] = [];
      for (const o of orgs) ids.push(await svc.follow(o, OBJECTS));
      await svc.waitFollowing(ids, OBJECTS.length, 'cdc');
      ctx.log(`  ${ORGS} orgs followed by CDC; events topic with ${partitions} partitions`);

      // Warm-up: JIT, producer connection, topic metadata.
      let base = await eventsPublished(em);
      await activity(em, orgs, 500, 2);
      await settle(em, reader, 0, base);
      ctx.log(`  warm-up: ${await reader.count()} events`);

      // Live burst.
      base = await eventsPublished(em);
      let from = await reader.count();
      let cpu0 = process.cpuUsage();
      let elu0 = performance.eventLoopUtilization();
      let emCpu0 = await em.cpu();
      let t0 = Date.now();
      await activity(em, orgs, RATE, BURST_S);
      const expected = await settle(em, reader, from, base);
      const liveCpu = cores(cpu0, process.cpuUsage(), emCpu0, await em.cpu(), Date.now() - t0, elu0);
      const burst = await reader.stamps(from);
      const burstRange = { from, to: from + burst.length };
      const b = spanFigures(burst);
      const live = {
        changes: expected,
        events: burst.length,
        generatedEventsPerS: round(burst.length / ((b.lastCommit - b.firstCommit) / 1000), 0),
        eventsPerS: round(burst.length / ((b.lastTs - b.firstCommit) / 1000), 0),
        latencyMs: { p50: quantile(b.lat, 0.5), p99: quantile(b.lat, 0.99), max: b.lat.at(-1) ?? null },
        cpuCores: liveCpu,
      };
      ctx.log(
        `  live burst: ${live.events}/${live.changes} events; generator ${live.generatedEventsPerS} ev/s, commit→Kafka ${live.eventsPerS} ev/s; latency p50 ${live.latencyMs.p50} ms p99 ${live.latencyMs.p99} ms; ` +
          `cpu: service process ${liveCpu.benchProcess} (event loop ${liveCpu.benchProcessEventLoopUtilization} busy), emulator ${liveCpu.emulator} cores`,
      );

      // Catch-up: a backlog made while no instance runs, then one instance replays it.
      await svc.stop();
      svc = undefined;
      base = await eventsPublished(em);
      from = await reader.count();
      const backlogRate = Math.min(RATE, BACKLOG / 2);
      await activity(em, orgs, backlogRate, BACKLOG / backlogRate);
      let made = base;
      await waitUntil(
        async () => {
          const now = await eventsPublished(em);
          const done = now === made && now > base;
          made = now;
          return done;
        },
        60_000,
        'backlog',
        500,
      );
      const backlog = made - base;
      t0 = Date.now();
      cpu0 = process.cpuUsage();
      elu0 = performance.eventLoopUtilization();
      emCpu0 = await em.cpu();
      svc = await startBenchService(ctx, { prefix, hookUrl: reader.hookUrl, roles: CATCHUP_ROLES, emulator: em });
      const loadedMs = Date.now() - t0;
      await waitUntil(async () => (await reader!.count()) - from >= backlog, 120_000, `${backlog} backlog events`, 50);
      const catchupMs = Date.now() - t0;
      const catchupCpu = cores(cpu0, process.cpuUsage(), emCpu0, await em.cpu(), catchupMs, elu0);
      const caught = await reader.stamps(from);
      const c = spanFigures(caught);
      const catchup = {
        changes: backlog,
        events: caught.length,
        eventsPerS: round(caught.length / ((c.lastTs - c.firstTs) / 1000), 0),
        serviceStartToLoadedMs: loadedMs,
        serviceStartToAllPublishedMs: catchupMs,
        cpuCores: catchupCpu,
        roles: CATCHUP_ROLES,
      };
      ctx.log(
        `  catch-up (instance roles ${CATCHUP_ROLES.join(',')}): ${caught.length} backlog events published at ${catchup.eventsPerS} ev/s (first→last Kafka timestamp); ${catchupMs} ms from service start; ` +
          `cpu: service process ${catchupCpu.benchProcess} (event loop ${catchupCpu.benchProcessEventLoopUtilization} busy), emulator ${catchupCpu.emulator} cores`,
      );

      // Baseline: the burst's messages again through a raw kafkajs producer, with the instance stopped.
      await sleep(2_000); // let the instance's delivery engine finish the backlog's webhooks
      const webhooksReceived = await reader.webhooks();
      await svc.stop();
      svc = undefined;
      const raw = await reader.rawBaseline({ ...burstRange, partitions, maxBatch: 2_000, maxBytes: MAX_REQUEST_BYTES });
      ctx.log(
        `  raw kafkajs producer (idempotent, acks=all, 1 in flight), same ${raw.messages} messages (~${raw.avgMessageBytes} B), ${raw.requests} requests of ≤ 2000 messages / ${MAX_REQUEST_BYTES} B: ${raw.eventsPerS} ev/s (${raw.cpuCores} cores)`,
      );
      // The instance's own client library, bare, with the adapter's produce settings: the limit the pipeline can reach.
      const rawClient =
        ctx.kafkaClient === 'kafkajs'
          ? raw
          : await reader.rawBaseline({ ...burstRange, partitions, maxBatch: 2_000, maxBytes: MAX_REQUEST_BYTES, client: ctx.kafkaClient });
      // librdkafka from Node (@confluentinc/kafka-javascript), a candidate client without an adapter yet; skipped when it did not build.
      const rawConfluent = await reader
        .rawBaseline({ ...burstRange, partitions, maxBatch: 2_000, maxBytes: MAX_REQUEST_BYTES, client: 'confluent' })
        .catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
      ctx.log(`  raw confluent producer (librdkafka, idempotent, linger 5 ms), same messages and requests: ${JSON.stringify(rawConfluent)}`);
      if (rawClient !== raw)
        ctx.log(
          `  raw ${ctx.kafkaClient} producer (idempotent, acks=all), same messages and requests: ${rawClient.eventsPerS} ev/s (${rawClient.cpuCores} cores)`,
        );
      // The broker's limit on this machine: the same messages through kcat (librdkafka), in the same run.
      let kcat: Figures;
      try {
        kcat = await reader.kcatBaseline({ ...burstRange, partitions });
        if ('skipped' in kcat) ctx.log(`  kcat: skipped (${String(kcat.skipped)})`);
        else
          ctx.log(
            `  kcat (librdkafka: ${(kcat.config as string[]).join(', ')}), same ${String(kcat.messages)} messages (~${String(kcat.avgMessageBytes)} B): ${String(kcat.eventsPerS)} ev/s ` +
              `(${String(kcat.ms)} ms wall, ${String(kcat.startupMs)} ms of it startup; ${String(kcat.eventsPerSWithStartup)} ev/s with it; ${String(kcat.cpuCores)} cores)`,
          );
      } catch (err) {
        kcat = { error: err instanceof Error ? err.message : String(err) };
        ctx.log(`  kcat FAILED: ${String(kcat.error)}`);
      }
      const kcatPerS = typeof kcat.eventsPerS === 'number' ? kcat.eventsPerS : null;

      const best = Math.max(live.eventsPerS ?? 0, catchup.eventsPerS ?? 0);
      return {
        orgs: ORGS,
        eventsTopicPartitions: partitions,
        webhooksReceived,
        objects: OBJECTS,
        targetEventsPerS: 5_000,
        eventsPerS: best,
        live,
        catchup,
        kafkaClient: ctx.kafkaClient,
        rawKafkajs: { ...raw, partitions, maxBatch: 2_000, maxRequestBytes: MAX_REQUEST_BYTES },
        rawClient: { ...rawClient, client: ctx.kafkaClient },
        rawConfluent,
        // Against the instance's own client library: how much of the client's limit the pipeline reaches.
        ratioCatchupToRaw: round((catchup.eventsPerS ?? 0) / rawClient.eventsPerS, 2),
        ratioLiveToRaw: round((live.eventsPerS ?? 0) / rawClient.eventsPerS, 2),
        ratioCatchupToRawKafkajs: round((catchup.eventsPerS ?? 0) / raw.eventsPerS, 2),
        kcat,
        ratioCatchupToKcat: kcatPerS ? round((catchup.eventsPerS ?? 0) / kcatPerS, 2) : null,
        ratioLiveToKcat: kcatPerS ? round((live.eventsPerS ?? 0) / kcatPerS, 2) : null,
        ratioRawToKcat: kcatPerS ? round(raw.eventsPerS / kcatPerS, 2) : null,
        ratioRawClientToKcat: kcatPerS ? round(rawClient.eventsPerS / kcatPerS, 2) : null,
        met: best >= 5_000,
      };
    } finally {
      await reader?.stop().catch(() => {});
      await svc?.stop().catch(() => {});
      await em.close();
    }
  },
};
