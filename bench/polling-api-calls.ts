/**
 * API calls per org per hour spent by polling an org with 5 watched
 * objects and no changes. The org has no CDC selection, so every object is polled;
 * the service polls every second (pollIntervalS: 1) so a few cycles take seconds.
 * The emulator's `apiCalls` counter is sampled every 50 ms: calls that come within
 * 400 ms of each other belong to one cycle (cycles are ~1 s apart), which gives
 * calls per cycle without trusting the interval. Per hour at the default 30 s
 * interval = calls per cycle × 120 (the API-budget guard may only lengthen it).
 */
import type { Bench, BenchContext, Figures } from './lib.js';
import { createOrg, round, sleep, startBenchService, startEmulatorProcess, uniquePrefix, type BenchService } from './lib.js';

const OBJECTS = ['Lead', 'Contact', 'Account', 'Opportunity', 'Case'];

export const pollingApiCalls: Bench = {
  name: 'polling-api-calls',
  async run(ctx: BenchContext): Promise<Figures> {
    const WINDOW_S = ctx.quick ? 8 : 20;
    const em = await startEmulatorProcess();
    let svc: BenchService | undefined;
    try {
      svc = await startBenchService(ctx, { prefix: uniquePrefix('polling'), pollIntervalS: 1 });
      const org = await createOrg(em, { cdcEntities: [] });
      const id = await svc.follow(org, OBJECTS);
      await svc.waitFollowing([id], OBJECTS.length, 'polling');
      await sleep(3_000); // the first cycles: describes, cursors
      const statsPath = `/__emulator/orgs/${org.orgId}/stats`;
      const calls = async () => (await em.admin<{ apiCalls: number }>('GET', statsPath)).apiCalls;

      const c0 = await calls();
      const t0 = Date.now();
      let last = c0;
      let lastChangeAt = 0;
      let cycles = 0;
      const perCycle: number[] = [];
      while (Date.now() - t0 < WINDOW_S * 1000) {
        await sleep(50);
        const c = await calls();
        if (c !== last) {
          const now = Date.now();
          if (now - lastChangeAt > 400) {
            cycles++;
            perCycle.push(0);
          }
          perCycle[perCycle.length - 1]! += c - last;
          lastChangeAt = now;
          last = c;
        }
      }
      const elapsedS = (Date.now() - t0) / 1000;
      const total = last - c0;
      const callsPerCycle = cycles > 0 ? total / cycles : null;
      const figures = {
        watchedObjects: OBJECTS,
        pollIntervalS: 1,
        windowS: round(elapsedS, 1),
        apiCalls: total,
        cycles,
        callsPerCycle: round(callsPerCycle, 2),
        maxCallsInOneCycle: perCycle.length ? Math.max(...perCycle) : null,
        meanCycleS: cycles > 0 ? round(elapsedS / cycles, 2) : null,
        callsPerHourAtDefault30s: callsPerCycle === null ? null : round(callsPerCycle * 120, 0),
        callsPerDayAtDefault30s: callsPerCycle === null ? null : round(callsPerCycle * 2_880, 0),
        targetCallsPerCycle: 1,
        met: callsPerCycle !== null && callsPerCycle <= 1,
      };
      ctx.log(
        `  ${total} API calls in ${cycles} cycles over ${figures.windowS} s: ${figures.callsPerCycle} calls/cycle → ${figures.callsPerHourAtDefault30s} calls/org/hour at the default 30 s interval`,
      );
      return figures;
    } finally {
      await svc?.stop().catch(() => {});
      await em.close();
    }
  },
};
