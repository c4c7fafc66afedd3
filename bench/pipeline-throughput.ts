/**
 * Issue 4: events per second from emulator commit to Kafka ack on one service
 * instance, beside a raw kafkajs producer sending the same messages (the client's
 * limit) in the same run.
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
 * Kafka timestamps are CreateTime, set by the producer when it sends the batch.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { ConsumedMessage } from '../src/kafka/types.js';
import type { Bench, BenchContext, Figures } from './lib.js';
import {
  commitTimestampOf,
  createEventsTopic,
  createOrg,
  quantile,
  readTopic,
  round,
  sleep,
  startBenchService,
  startEmulatorProcess,
  startReceiver,
  uniquePrefix,
  waitUntil,
  type BenchService,
  type EmulatorProcess,
  type EventsReader,
  type OrgCredentials,
} from './lib.js';

const OBJECTS = ['Lead', 'Contact', 'Account', 'Opportunity'];

async function eventsPublished(em: EmulatorProcess): Promise<number> {
  return (await em.admin<{ eventsPublished: number }>('GET', '/__emulator/stats')).eventsPublished;
}

async function activity(em: EmulatorProcess, orgs: readonly OrgCredentials[], total: number, seconds: number): Promise<void> {
  await Promise.all(orgs.map((o) => em.admin('POST', `/__emulator/orgs/${o.orgId}/activity`, { perSecond: total / orgs.length, objects: OBJECTS, seconds })));
}

/** Waits until the emulator stopped generating and the reader holds every event made so far (or no progress for stallMs). */
async function settle(em: EmulatorProcess, reader: EventsReader, base: number, stallMs = 20_000): Promise<number> {
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
  let seen = reader.messages.length;
  let progressAt = Date.now();
  while (reader.messages.length < expected) {
    if (reader.messages.length !== seen) {
      seen = reader.messages.length;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs) break;
    await sleep(100);
  }
  return expected;
}

function spanFigures(msgs: readonly ConsumedMessage[]) {
  const commits = msgs.map(commitTimestampOf);
  const stamps = msgs.map((m) => Number(m.timestamp));
  const firstCommit = Math.min(...commits);
  const lastCommit = Math.max(...commits);
  const firstTs = Math.min(...stamps);
  const lastTs = Math.max(...stamps);
  const lat = msgs.map((_, i) => stamps[i]! - commits[i]!).sort((a, b) => a - b);
  return { firstCommit, lastCommit, firstTs, lastTs, lat };
}

const MAX_REQUEST_BYTES = 900_000;

function sizeOf(m: ConsumedMessage): number {
  return (m.value?.length ?? 0) + (m.key?.length ?? 0) + Object.entries(m.headers).reduce((h, [k, v]) => h + k.length + v.length, 0);
}

/**
 * A raw kafkajs producer (idempotent, acks=all, one request in flight, as ours) sending
 * the same messages, up to `batch` messages and MAX_REQUEST_BYTES per request (under the
 * broker's default message.max.bytes of 1 MiB even if every message went to one partition).
 */
async function rawProducer(ctx: BenchContext, msgs: readonly ConsumedMessage[], partitions: number, batch: number): Promise<{ eventsPerS: number; ms: number; requests: number }> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: ctx.brokers, logLevel: logLevel.NOTHING });
  const topic = uniquePrefix('raw');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await waitUntil(
    async () => {
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        return md.topics[0]!.partitions.every((p) => p.leader >= 0);
      } catch {
        return false;
      }
    },
    30_000,
    'raw topic leaders',
  );
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = msgs.map((m) => ({ key: m.key, value: m.value, headers: m.headers }));
  // Warm the connection and metadata with one small send.
  await producer.send({ topic, acks: -1, messages: messages.slice(0, 10) });
  const t = performance.now();
  let requests = 0;
  for (let i = 0; i < messages.length; ) {
    let j = i;
    let bytes = 0;
    while (j < messages.length && j - i < batch && (j === i || bytes + sizeOf(msgs[j]!) <= MAX_REQUEST_BYTES)) bytes += sizeOf(msgs[j++]!);
    await producer.send({ topic, acks: -1, messages: messages.slice(i, j) });
    requests++;
    i = j;
  }
  const ms = performance.now() - t;
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return { eventsPerS: messages.length / (ms / 1000), ms, requests };
}

/** CPU cores used over a span by this process (service + reader + receiver) and by the emulator. */
function cores(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage, ea: NodeJS.CpuUsage, eb: NodeJS.CpuUsage, ms: number) {
  return {
    benchProcess: round((b.user + b.system - a.user - a.system) / 1e3 / ms, 2),
    emulator: round((eb.user + eb.system - ea.user - ea.system) / 1e3 / ms, 2),
  };
}

export const pipelineThroughput: Bench = {
  name: 'pipeline-throughput',
  async run(ctx: BenchContext): Promise<Figures> {
    const ORGS = ctx.quick ? 8 : 16;
    const RATE = Number(process.env.BENCH_THROUGHPUT_RATE ?? 8_000);
    const BURST_S = ctx.quick ? 3 : 6;
    const BACKLOG = ctx.quick ? 15_000 : 40_000;
    const prefix = uniquePrefix('throughput');
    const em = await startEmulatorProcess();
    const hooks = await startReceiver();
    let svc: BenchService | undefined;
    let reader: EventsReader | undefined;
    try {
      const partitions = await createEventsTopic(ctx, prefix);
      svc = await startBenchService(ctx, { prefix, hookUrl: hooks.url });
      const orgs: OrgCredentials[] = [];
      for (let i = 0; i < ORGS; i++) orgs.push(await createOrg(em, { cdcEntities: OBJECTS }));
      const ids: string[] = [];
      for (const o of orgs) ids.push(await svc.follow(o, OBJECTS));
      await svc.waitFollowing(ids, OBJECTS.length, 'cdc');
      reader = await readTopic(ctx, prefix);
      ctx.log(`  ${ORGS} orgs followed by CDC`);

      // Warm-up: JIT, producer connection, topic metadata.
      let base = await eventsPublished(em);
      await activity(em, orgs, 500, 2);
      await settle(em, reader, base);
      ctx.log(`  warm-up: ${reader.messages.length} events`);

      // Live burst.
      base = await eventsPublished(em);
      let from = reader.messages.length;
      let cpu0 = process.cpuUsage();
      let emCpu0 = await em.cpu();
      let t0 = Date.now();
      await activity(em, orgs, RATE, BURST_S);
      const expected = await settle(em, reader, base);
      const liveCpu = cores(cpu0, process.cpuUsage(), emCpu0, await em.cpu(), Date.now() - t0);
      const burst = reader.messages.slice(from);
      const b = spanFigures(burst);
      const live = {
        changes: expected,
        events: burst.length,
        generatedEventsPerS: round(burst.length / ((b.lastCommit - b.firstCommit) / 1000), 0),
        eventsPerS: round(burst.length / ((b.lastTs - b.firstCommit) / 1000), 0),
        latencyMs: { p50: quantile(b.lat, 0.5), p99: quantile(b.lat, 0.99), max: b.lat.at(-1) ?? null },
        cpuCores: liveCpu,
      };
      ctx.log(`  live burst: ${live.events}/${live.changes} events; generator ${live.generatedEventsPerS} ev/s, commit→Kafka ${live.eventsPerS} ev/s; latency p50 ${live.latencyMs.p50} ms p99 ${live.latencyMs.p99} ms; cpu: service process ${liveCpu.benchProcess}, emulator ${liveCpu.emulator} cores`);

      // Catch-up: a backlog made while no instance runs, then one instance replays it.
      await svc.stop();
      svc = undefined;
      base = await eventsPublished(em);
      from = reader.messages.length;
      await activity(em, orgs, Math.min(RATE, BACKLOG / 2), BACKLOG / Math.min(RATE, BACKLOG / 2));
      let made = base;
      await waitUntil(async () => {
        const now = await eventsPublished(em);
        const done = now === made && now > base;
        made = now;
        return done;
      }, 60_000, 'backlog', 500);
      const backlog = made - base;
      t0 = Date.now();
      cpu0 = process.cpuUsage();
      emCpu0 = await em.cpu();
      svc = await startBenchService(ctx, { prefix, hookUrl: hooks.url });
      const loadedMs = Date.now() - t0;
      await waitUntil(() => reader!.messages.length - from >= backlog, 120_000, `${backlog} backlog events`, 50);
      const catchupMs = Date.now() - t0;
      const catchupCpu = cores(cpu0, process.cpuUsage(), emCpu0, await em.cpu(), catchupMs);
      const caught = reader.messages.slice(from);
      const c = spanFigures(caught);
      const catchup = {
        changes: backlog,
        events: caught.length,
        eventsPerS: round(caught.length / ((c.lastTs - c.firstTs) / 1000), 0),
        serviceStartToLoadedMs: loadedMs,
        serviceStartToAllPublishedMs: catchupMs,
        cpuCores: catchupCpu,
      };
      ctx.log(`  catch-up: ${caught.length} backlog events published at ${catchup.eventsPerS} ev/s (first→last Kafka timestamp); ${catchupMs} ms from service start; cpu: service process ${catchupCpu.benchProcess}, emulator ${catchupCpu.emulator} cores`);

      // Baseline: the same messages through a raw kafkajs producer.
      const sample = caught.length >= burst.length ? caught : burst;
      const raw = await rawProducer(ctx, sample, partitions, 2_000);
      const avgBytes = sample.reduce((s, m) => s + sizeOf(m), 0) / sample.length;
      ctx.log(`  raw kafkajs producer, same ${sample.length} messages (~${Math.round(avgBytes)} B), ${raw.requests} requests of ≤ 2000 messages / ${MAX_REQUEST_BYTES} B: ${round(raw.eventsPerS, 0)} ev/s`);

      const best = Math.max(live.eventsPerS ?? 0, catchup.eventsPerS ?? 0);
      return {
        orgs: ORGS,
        eventsTopicPartitions: partitions,
        webhooksReceived: hooks.received(),
        objects: OBJECTS,
        targetEventsPerS: 5_000,
        eventsPerS: best,
        live,
        catchup,
        rawKafkajs: { messages: sample.length, avgMessageBytes: Math.round(avgBytes), partitions, maxBatch: 2_000, maxRequestBytes: MAX_REQUEST_BYTES, requests: raw.requests, eventsPerS: round(raw.eventsPerS, 0) },
        ratioCatchupToRaw: round((catchup.eventsPerS ?? 0) / raw.eventsPerS, 2),
        ratioLiveToRaw: round((live.eventsPerS ?? 0) / raw.eventsPerS, 2),
        met: best >= 5_000,
      };
    } finally {
      await reader?.stop().catch(() => {});
      await svc?.stop().catch(() => {});
      await em.close();
      await hooks.close();
    }
  },
};
