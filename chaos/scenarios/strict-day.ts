/**
 * A day of emulator time on an org with every strict option on: refresh tokens rotated on each use, sessions
 * that lapse after 2 h unused, refresh tokens that lapse after 30 days unused, a developer edition (20
 * streaming clients, 10,000 delivered events per rolling 24 h), whole-second stamps (always on). Steady
 * activity runs in real time while the emulator's clock moves the day on in 15-minute steps.
 *
 * The service runs in real time, so its intervals are scaled to the steps (one step stands for 15 minutes):
 * polling every 1 s, the scheduled token refresh every 8 steps (2 h instead of the daily default, so rotation
 * is exercised through the day), and streaming tried again 1 s (then 2 s, ... up to 8 s) after the org
 * refused it (instead of 5 min up to 1 h).
 *
 * The full run makes more changes than the allocation delivers in a day: Salesforce refuses streaming, the
 * service follows the org by polling, and after the day the clock moves on until the rolling window frees
 * room and streaming comes back. The quick run makes fewer changes (about 100) and stays within the allocation.
 * Either way every change of the emulator's log must be found (0 lost), and the connection must stay active.
 * Changes polled while streaming was refused come again when the stream replays from its checkpoint, under
 * their change event ids: duplicates under another id are expected here.
 */
import { retryPolicy } from '../../src/core/retry.js';
import { activity, adminCall, inProcessInstance, prefixFor, sleep, steadyOrg, verdict, type Ctx, type Scenario } from '../lib.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEP = 15 * MINUTE;

export const STRICT_ORG = {
  rotateRefreshTokens: true,
  sessionTimeoutMs: 2 * HOUR,
  refreshTokenIdleMs: 30 * DAY,
  edition: 'developer',
  eventDeliveryDailyLimit: 10_000,
};

interface Stats {
  eventsDelivered: number;
  tokenRefreshes: number;
  rotatedTokenReuses: number;
  streamingClients: number;
}

interface View {
  status: string;
  subscriber: string;
  warnings: { code: string }[];
  objects: { object: string; mode: string }[];
}

export const strictDay: Scenario = {
  name: 'strict-day',
  quick: false,
  timeoutMs: 420_000,
  async run(ctx: Ctx) {
    const stepRealMs = ctx.quick ? 300 : 1_500;
    const perSecond = ctx.quick ? 4 : 75;
    const steps = DAY / STEP;
    const prefix = prefixFor('strict-day');
    const svc = await inProcessInstance(ctx, {
      prefix,
      pollIntervalS: 1,
      tokenRefreshIntervalS: Math.max(1, Math.round((8 * stepRealMs) / 1000)),
      streamingLimitRetry: retryPolicy({ maxAttempts: 1, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 8_000, jitter: 0.2 }),
    });
    const o = await steadyOrg(ctx, ctx.brokers, prefix, svc.api, ['Lead'], STRICT_ORG);
    const stats = () => adminCall<Stats>(ctx, 'GET', `/__emulator/orgs/${o.org.orgId}/stats`);
    const view = async () => (await svc.api<View>('GET', `/v1/connections/${o.connectionId}`)).body;
    const notActive: string[] = [];
    let limitedSteps = 0;
    let emulatedMs = 0;
    const step = async (): Promise<View> => {
      await sleep(stepRealMs);
      await adminCall(ctx, 'POST', '/__emulator/clock', { advanceMs: STEP });
      emulatedMs += STEP;
      const v = await view();
      if (v.status !== 'active') notActive.push(`${v.status} at +${emulatedMs / HOUR} h`);
      if (v.warnings.some((w) => w.code === 'event_allocation_exhausted')) limitedSteps++;
      return v;
    };
    try {
      const refreshesBefore = (await stats()).tokenRefreshes;
      await activity(ctx, o.org.orgId, perSecond, ['Lead'], (steps * stepRealMs) / 1000);
      for (let i = 0; i < steps; i++) await step();
      ctx.log(`strict-day: a day of emulator time done, ${o.ledger.snapshot().size} changes; streaming refused during ${limitedSteps} steps`);
      const afterDay = await stats();
      // Until streaming is back (the rolling window frees room), at most another emulated day.
      const streaming = (v: View) => v.subscriber === 'running' && v.warnings.length === 0 && v.objects.every((x) => x.mode === 'cdc');
      let v = await view();
      for (let i = 0; i < steps && !streaming(v); i++) v = await step();
      const c = await o.ledger.settle(o.reader, o.receiver, 120_000);
      const end = await stats();
      const backToStreaming = streaming(await view());
      const v2 = verdict(
        c,
        {
          emulatedHours: emulatedMs / HOUR,
          stepMinutes: STEP / MINUTE,
          perSecond,
          limitedSteps,
          backToStreaming,
          eventsDeliveredAfterDay: afterDay.eventsDelivered,
          tokenRefreshes: end.tokenRefreshes - refreshesBefore,
          rotatedTokenReuses: end.rotatedTokenReuses,
          notActive: notActive.slice(0, 5),
        },
        { duplicatesUnderAnotherId: true },
      );
      v2.ok &&= notActive.length === 0 && backToStreaming && end.rotatedTokenReuses === 0 && end.tokenRefreshes > refreshesBefore;
      return v2;
    } finally {
      await svc.stop().catch(() => undefined);
      await o.close();
    }
  },
};
