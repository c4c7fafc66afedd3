/**
 * A GAP_OVERFLOW read back on one instance, with its memory. An Account with RECORDS Contacts (200,000;
 * quick: 20,000) is deleted: the cascade is one transaction of RECORDS + 1 deletions, past the org's
 * overflow threshold (1,000 here, so that the read back carries almost all of it), and Salesforce sends
 * the first changes as change events and the rest as one GAP_OVERFLOW for Contact. The instance (source
 * role only: delivery would measure webhooks, not the read) records the read and works through it page by
 * page beside the stream. Figures: time from the delete to the last event on Kafka, events/s, the API calls
 * the read cost, and the instance's RSS and heap: sampled every 100 ms, peak against the same process just
 * before the delete (after the seeding, which ran in the same process through jsforce).
 */
import { orgUser } from '../testkit/service.js';
import type { Bench, BenchContext, Figures } from './lib.js';
import { createEventsTopic, createOrg, mib, readTopic, round, sleep, startBenchService, startEmulatorProcess, uniquePrefix, type BenchService } from './lib.js';

const OVERFLOW_THRESHOLD = 1_000;

export const overflowReconcile: Bench = {
  name: 'overflow-reconcile',
  async run(ctx: BenchContext): Promise<Figures> {
    const RECORDS = Number(process.env.BENCH_OVERFLOW_RECORDS ?? (ctx.quick ? 20_000 : 200_000));
    const em = await startEmulatorProcess();
    let svc: BenchService | undefined;
    const prefix = uniquePrefix('overflow');
    const reader = await readTopic(ctx, prefix);
    try {
      // Seeded before CDC covers Contact: the creations make no change events to replay.
      const org = await createOrg(em, { cdcEntities: [], overflowThreshold: OVERFLOW_THRESHOLD });
      const user = orgUser(org);
      // Seeded ten minutes in the past: the instance's first follow reads back what changed in the last
      // minute (its catch-up), which must not be the seeding.
      await em.admin('POST', '/__emulator/clock', { advanceMs: -600_000 });
      const account = (await user.sobject('Account').create({ Name: 'Parent of many' })) as { id: string };
      const t0 = Date.now();
      const batches = Math.ceil(RECORDS / 200);
      for (let b = 0; b < batches; b += 4) {
        await Promise.all(
          Array.from({ length: Math.min(4, batches - b) }, (_, k) =>
            user.sobject('Contact').create(
              Array.from({ length: 200 }, (_, j) => ({
                LastName: `Contact ${(b + k) * 200 + j}`,
                Email: `c${(b + k) * 200 + j}@example.com`,
                AccountId: account.id,
              })),
              { allOrNone: true },
            ),
          ),
        );
      }
      ctx.log(`  seeded ${RECORDS} contacts in ${round((Date.now() - t0) / 1000, 1)} s`);
      await em.admin('POST', '/__emulator/clock', { advanceMs: 600_000 });
      await em.admin('PUT', `/__emulator/orgs/${org.orgId}/cdc-entities`, { entities: ['Account', 'Contact'] });

      await createEventsTopic(ctx, prefix);
      svc = await startBenchService(ctx, { prefix, roles: ['source'] });
      const id = await svc.follow(org, ['Account', 'Contact']);
      await svc.waitFollowing([id], 2, 'cdc');
      await sleep(2_000);
      const before = await reader.count();
      globalThis.gc?.();
      const base = process.memoryUsage();
      let peakRss = base.rss;
      let peakHeap = base.heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakRss = Math.max(peakRss, m.rss);
        peakHeap = Math.max(peakHeap, m.heapUsed);
      }, 100);
      const calls0 = (await em.admin<{ apiCalls: number }>('GET', `/__emulator/orgs/${org.orgId}/stats`)).apiCalls;
      const cpu0 = process.cpuUsage();

      const deletedAt = Date.now();
      await user.sobject('Account').destroy(account.id);
      // Done when every contact's deletion is on Kafka and nothing more came for 5 s.
      let count = before;
      let lastGrowth = Date.now();
      for (;;) {
        await sleep(500);
        const c = await reader.count();
        if (c !== count) {
          count = c;
          lastGrowth = Date.now();
        }
        if (count - before >= RECORDS + 1 && Date.now() - lastGrowth > 5_000) break;
        if (Date.now() - lastGrowth > 120_000) throw new Error(`stalled at ${count - before} of ${RECORDS + 1} events`);
      }
      clearInterval(sampler);
      const cpu = process.cpuUsage(cpu0);
      const calls = (await em.admin<{ apiCalls: number }>('GET', `/__emulator/orgs/${org.orgId}/stats`)).apiCalls - calls0;
      const stamps = await reader.stamps(before);
      const lastKafka = stamps.reduce((m, s) => Math.max(m, s[0]), 0);
      const seconds = (lastKafka - deletedAt) / 1000;
      const events = count - before;
      const figures = {
        records: RECORDS,
        overflowThreshold: OVERFLOW_THRESHOLD,
        events,
        secondsDeleteToLastEvent: round(seconds, 1),
        eventsPerS: round(events / seconds, 0),
        apiCalls: calls,
        serviceCpuSeconds: round((cpu.user + cpu.system) / 1e6, 1),
        rssBeforeMiB: mib(base.rss),
        peakRssMiB: mib(peakRss),
        peakRssAboveBeforeMiB: mib(peakRss - base.rss),
        heapBeforeMiB: mib(base.heapUsed),
        peakHeapMiB: mib(peakHeap),
      };
      ctx.log(
        `  ${events} events for ${RECORDS} deleted contacts in ${figures.secondsDeleteToLastEvent} s (${figures.eventsPerS}/s), ${calls} API calls; RSS ${figures.rssBeforeMiB} → peak ${figures.peakRssMiB} MiB, heap peak ${figures.peakHeapMiB} MiB`,
      );
      return figures;
    } finally {
      await svc?.stop().catch(() => {});
      await reader.stop();
      await em.close();
    }
  },
};
