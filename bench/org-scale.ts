/**
 * One instance following many orgs (2,000; BENCH_QUICK 300), each with a
 * live CDC subscription (one CometD client per org, Lead selected for CDC), the
 * emulator in a child process. Figures once every org streams and the instance
 * is idle: RSS and heap (after a GC) against the same instance before any org,
 * hence memory per followed org; CPU and event-loop utilization of the idle
 * instance over a window (target < 10 % of a core); how long it took to start
 * following them all. The service runs in this process: its baseline includes
 * the bench's own modules, which the per-org figures subtract.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Bench, BenchContext, Figures } from './lib.js';
import {
  createOrg,
  mib,
  round,
  sleep,
  startBenchService,
  startEmulatorProcess,
  uniquePrefix,
  waitUntil,
  type BenchService,
  type OrgCredentials,
} from './lib.js';

/** A GC on demand without --expose-gc on the command line (npm run bench is plain tsx). */
function gcFunction(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function settledMemory(gc: () => void): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(200);
  }
  return process.memoryUsage();
}

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export const orgScale: Bench = {
  name: 'org-scale',
  perTransport: true,
  async run(ctx: BenchContext): Promise<Figures> {
    const ORGS = Number(process.env.BENCH_ORGS ?? (ctx.quick ? 300 : 2_000));
    const IDLE_S = ctx.quick ? 10 : 30;
    const gc = gcFunction();
    const em = await startEmulatorProcess();
    let svc: BenchService | undefined;
    try {
      svc = await startBenchService(ctx, { prefix: uniquePrefix('orgscale'), emulator: em });
      const s = svc;
      // Single instance: it holds every assignment partition after the handover wait.
      await waitUntil(() => (s.service.ownership()?.owned.length ?? 0) > 0, 60_000, 'assignment partitions owned');
      const base = await settledMemory(gc);
      // The instance's own idle cost (Kafka consumers' fetch loops, timers) before any org.
      const baseCpu0 = process.cpuUsage();
      const bw0 = Date.now();
      await sleep((IDLE_S * 1000) / 2);
      const baseCpu = process.cpuUsage(baseCpu0);
      const baseIdleCpuCore = (baseCpu.user + baseCpu.system) / 1000 / (Date.now() - bw0);

      const orgs: OrgCredentials[] = [];
      await pool(
        Array.from({ length: ORGS }, (_, i) => i),
        16,
        async () => {
          orgs.push(await createOrg(em, { cdcEntities: ['Lead'] }));
        },
      );
      const t0 = Date.now();
      const ids: string[] = [];
      const streaming = () =>
        ids.filter((id) => {
          const st = s.service.sources.status(id);
          return st?.subscriber === 'running' && st.objects.every((o) => o.mode === 'cdc');
        }).length;
      // Where the stragglers are from the first connection on: subscriber state, and objects not (yet) streamed.
      const progress = setInterval(() => {
        const states = new Map<string, number>();
        for (const id of ids) {
          const st = s.service.sources.status(id);
          const key = !st ? 'unknown' : `${st.subscriber}${st.objects.some((o) => o.mode !== 'cdc') ? '+polling' : ''}`;
          states.set(key, (states.get(key) ?? 0) + 1);
        }
        ctx.log(`  ${round((Date.now() - t0) / 1000, 0)} s: ${[...states].map(([k, n]) => `${k} ${n}`).join(', ')}`);
      }, 30_000);
      let createdS: number;
      try {
        await pool(orgs, 16, async (org) => {
          const c = await s.api<{ id: string }>('POST', '/v1/connections', {
            loginUrl: org.loginUrl,
            clientId: org.clientId,
            clientSecret: org.clientSecret,
            refreshToken: org.refreshToken,
          });
          if (c.status !== 201) throw new Error(`POST /v1/connections: ${c.status} ${JSON.stringify(c.body)}`);
          const sub = await s.api('POST', '/v1/subscriptions', {
            connectionId: c.body.id,
            trigger: 'record.created',
            object: 'Lead',
            destination: { type: 'webhook', url: 'http://127.0.0.1:9/hook' },
          });
          if (sub.status !== 201) throw new Error(`POST /v1/subscriptions: ${sub.status} ${JSON.stringify(sub.body)}`);
          ids.push(c.body.id);
        });
        createdS = (Date.now() - t0) / 1000;
        ctx.log(`  ${ORGS} orgs connected and subscribed through the API in ${round(createdS, 1)} s`);
        await waitUntil(() => streaming() === ORGS, ctx.quick ? 180_000 : 600_000, `${ORGS} orgs streaming by CDC`, 500);
      } finally {
        clearInterval(progress);
      }
      const followingS = (Date.now() - t0) / 1000;
      ctx.log(`  all ${ORGS} following by CDC ${round(followingS, 1)} s after the first connection`);

      await sleep(5_000); // handshakes and first long polls settle
      const mem = await settledMemory(gc);
      const cpu0 = process.cpuUsage();
      const emCpu0 = await em.cpu();
      const elu0 = performance.eventLoopUtilization();
      const w0 = Date.now();
      await sleep(IDLE_S * 1000);
      const windowMs = Date.now() - w0;
      const cpu = process.cpuUsage(cpu0);
      const emCpu1 = await em.cpu();
      const elu = performance.eventLoopUtilization(elu0);
      const memEnd = await settledMemory(gc);
      const stillStreaming = streaming();
      const emMem = await em.memory(true);

      const idleCpuCore = (cpu.user + cpu.system) / 1000 / windowMs;
      const perOrgHeapKiB = round((mem.heapUsed - base.heapUsed) / ORGS / 1024, 1);
      const perOrgRssKiB = round((mem.rss - base.rss) / ORGS / 1024, 1);
      const figures = {
        orgs: ORGS,
        connectSubscribeS: round(createdS, 1),
        allFollowingS: round(followingS, 1),
        baseline: { rssMiB: mib(base.rss), heapUsedMiB: mib(base.heapUsed) },
        steady: { rssMiB: mib(mem.rss), heapUsedMiB: mib(mem.heapUsed), externalMiB: mib(mem.external), arrayBuffersMiB: mib(mem.arrayBuffers) },
        afterIdleWindow: { rssMiB: mib(memEnd.rss), heapUsedMiB: mib(memEnd.heapUsed) },
        perOrg: { heapKiB: perOrgHeapKiB, rssKiB: perOrgRssKiB },
        idle: {
          windowS: round(windowMs / 1000, 1),
          cpuCore: round(idleCpuCore, 3),
          withoutOrgsCpuCore: round(baseIdleCpuCore, 3),
          eventLoopUtilization: round(elu.utilization, 3),
          stillStreaming,
        },
        emulator: { cpuCore: round((emCpu1.user + emCpu1.system - emCpu0.user - emCpu0.system) / 1000 / windowMs, 3), rssMiB: mib(emMem.rss) },
        targets: { rssMiB: 1024, idleCpuCore: 0.1 },
        met: mem.rss < 1024 * 1024 * 1024 && idleCpuCore < 0.1 && stillStreaming === ORGS,
      };
      ctx.log(
        `  steady: RSS ${figures.steady.rssMiB} MiB, heap ${figures.steady.heapUsedMiB} MiB (baseline ${figures.baseline.rssMiB} / ${figures.baseline.heapUsedMiB}); per org ${perOrgHeapKiB} KiB heap, ${perOrgRssKiB} KiB RSS`,
      );
      ctx.log(
        `  idle: ${round(idleCpuCore * 100, 1)} % of a core (event loop ${round(elu.utilization * 100, 1)} %) over ${figures.idle.windowS} s (${round(baseIdleCpuCore * 100, 1)} % with no org); ${stillStreaming}/${ORGS} still streaming`,
      );
      return figures;
    } finally {
      await svc?.stop().catch(() => {});
      await em.close();
    }
  },
};
