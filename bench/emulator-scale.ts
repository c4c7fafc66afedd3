/**
 * One emulator process holds ORGS orgs, each with a live
 * streaming client, and sustains RATE change events a second in aggregate.
 *
 * The emulator runs in its own process (bench/support/emulator-child.ts); the
 * clients are bare faye clients in another one (bench/support/faye-clients-child.ts),
 * so neither measures the other's event loop. Events come from the emulator's
 * synthetic activity (real DML through the write path: creates, updates, deletes
 * of Lead/Contact/Account/Opportunity), RATE/ORGS per org per second. Latency is
 * the client's receive time minus the event's commitTimestamp (one machine, one clock).
 */
import type { Bench, BenchContext, Figures } from './lib.js';
import { createOrg, forkTs, ipcCall, mib, quantile, round, sleep, startEmulatorProcess, stopChild, waitForMessage, type OrgCredentials } from './lib.js';

interface ClientReport {
  connected: number;
  received: number;
  errors: string[];
  latencies: number[];
  memory: NodeJS.MemoryUsage;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let it = queue.shift(); it !== undefined; it = queue.shift()) await fn(it);
    }),
  );
}

export const emulatorScale: Bench = {
  name: 'emulator-scale',
  async run(ctx: BenchContext): Promise<Figures> {
    const ORGS = Number(process.env.BENCH_SCALE_ORGS ?? (ctx.quick ? 500 : 2_000));
    const RATE = Number(process.env.BENCH_SCALE_RATE ?? 2_000);
    const WINDOW_S = ctx.quick ? 8 : 20;
    const WARM_S = 3;

    const em = await startEmulatorProcess();
    const clients = forkTs('faye-clients-child.ts');
    try {
      await waitForMessage(clients, (m) => (m as { event?: string }).event === 'ready', 60_000, 'clients ready');
      const mem0 = await em.memory(true);

      let t = Date.now();
      const orgs: OrgCredentials[] = [];
      await pool(
        Array.from({ length: ORGS }, (_, i) => i),
        16,
        async () => {
          orgs.push(await createOrg(em));
        },
      );
      const createMs = Date.now() - t;
      ctx.log(`  ${orgs.length} orgs created in ${createMs} ms`);
      const memOrgs = await em.memory(true);

      const opened = await ipcCall<{ connected: number; errors: string[]; ms: number }>(
        clients,
        {
          op: 'open',
          url: em.url,
          orgs: orgs.map(({ orgId, clientId, clientSecret, refreshToken }) => ({ orgId, clientId, clientSecret, refreshToken })),
          concurrency: 50,
        },
        300_000,
      );
      const stats0 = await em.admin<{ streamingClients: number; eventsPublished: number }>('GET', '/__emulator/stats');
      ctx.log(
        `  ${opened.connected} faye clients subscribed in ${opened.ms} ms; emulator counts ${stats0.streamingClients} streaming clients${opened.errors.length ? `; errors: ${opened.errors.slice(0, 3).join(' | ')}` : ''}`,
      );
      const memClients = await em.memory(true);

      // Every org gets RATE/ORGS changes a second until the emulator closes (starting 2,000 orgs'
      // activity takes seconds itself, so no fixed duration: the window starts after all of them).
      t = Date.now();
      await pool(orgs, 16, async (o) => {
        await em.admin('POST', `/__emulator/orgs/${o.orgId}/activity`, { perSecond: RATE / ORGS });
      });
      const activityStartMs = Date.now() - t;
      await sleep(WARM_S * 1000);

      await ipcCall(clients, { op: 'reset' });
      const clientCpu0 = await ipcCall<NodeJS.CpuUsage>(clients, { op: 'cpu' });
      const s0 = await em.admin<{ eventsPublished: number }>('GET', '/__emulator/stats');
      const cpu0 = await em.cpu();
      const w0 = Date.now();
      await sleep(WINDOW_S * 1000);
      const s1 = await em.admin<{ eventsPublished: number; streamingClients: number; retainedEvents: number }>('GET', '/__emulator/stats');
      const cpu1 = await em.cpu();
      const report = await ipcCall<ClientReport>(clients, { op: 'report' }, 60_000);
      const clientCpu1 = await ipcCall<NodeJS.CpuUsage>(clients, { op: 'cpu' });
      const windowS = (Date.now() - w0) / 1000;
      const memLoad = await em.memory(false);

      const generated = s1.eventsPublished - s0.eventsPublished;
      const lat = [...report.latencies].sort((a, b) => a - b);
      const emCpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1e6 / windowS;
      const figures = {
        orgs: orgs.length,
        orgCreateMs: createMs,
        clientsConnected: report.connected,
        emulatorStreamingClients: s1.streamingClients,
        clientConnectMs: opened.ms,
        clientErrors: report.errors.length,
        targetEventsPerS: RATE,
        windowS: round(windowS, 1),
        generatedEventsPerS: round(generated / windowS, 0),
        receivedEventsPerS: round(report.received / windowS, 0),
        deliveryLatencyMs: { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), max: lat.at(-1) ?? null, samples: lat.length },
        emulatorCpuCoresUnderLoad: round(emCpu, 2),
        emulatorMemoryMiB: {
          start: { rss: mib(mem0.rss), heapUsed: mib(mem0.heapUsed) },
          withOrgs: { rss: mib(memOrgs.rss), heapUsed: mib(memOrgs.heapUsed) },
          withClients: { rss: mib(memClients.rss), heapUsed: mib(memClients.heapUsed) },
          underLoad: { rss: mib(memLoad.rss), heapUsed: mib(memLoad.heapUsed) },
        },
        emulatorHeapKiBPerOrgWithClient: round((memClients.heapUsed - mem0.heapUsed) / 1024 / orgs.length, 1),
        clientProcessRssMiB: mib(report.memory.rss),
        clientProcessCpuCores: round((clientCpu1.user + clientCpu1.system - clientCpu0.user - clientCpu0.system) / 1e6 / windowS, 2),
        activityStartMs,
        met: report.connected >= orgs.length && generated / windowS >= RATE * 0.95 && report.received / windowS >= RATE * 0.95,
      };
      ctx.log(
        `  generated ${figures.generatedEventsPerS} ev/s, received ${figures.receivedEventsPerS} ev/s by ${report.connected} clients; ` +
          `latency p50 ${figures.deliveryLatencyMs.p50} ms p99 ${figures.deliveryLatencyMs.p99} ms; emulator ${figures.emulatorCpuCoresUnderLoad} cores, clients ${figures.clientProcessCpuCores} cores, ` +
          `rss ${figures.emulatorMemoryMiB.underLoad.rss} MiB, heap ${figures.emulatorMemoryMiB.underLoad.heapUsed} MiB`,
      );
      return figures;
    } finally {
      await stopChild(clients);
      await em.close();
    }
  },
};
