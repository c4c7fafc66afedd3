/**
 * 5. A webhook endpoint down for a (simulated) day. The default schedule 5s,5m,30m,2h,5h,10h,10h (~27.6 h) is
 * scaled down to 1s,2s,4s (~7 s, about 1:14,000 for the whole schedule): the endpoint answers 503 for longer
 * than that, so the events of that time end in the DLQ; it recovers; `redeliver {"dlq": true}` on each
 * subscription brings them: everything arrives, nothing lost.
 */
import { activity, inProcessInstance, prefixFor, sleep, steadyOrg, verdict, waitFor, type Ctx, type Scenario } from '../lib.js';

const SCHEDULE = [1_000, 2_000, 4_000];

export const webhookDay: Scenario = {
  name: 'webhook-day',
  quick: true,
  async run(ctx: Ctx) {
    const prefix = prefixFor('webhook-day');
    const svc = await inProcessInstance(ctx, { prefix, retrySchedule: SCHEDULE });
    const o = await steadyOrg(ctx, ctx.brokers, prefix, svc.api);
    try {
      const seconds = ctx.quick ? 5 : 8;
      o.receiver.down = true;
      await activity(ctx, o.org.orgId, 10, ['Lead'], seconds);
      // Down past the whole schedule of the last event made while down (+ jitter, breaker probes).
      await sleep(seconds * 1000 + 7_000 * 1.1 + 4_000);
      o.receiver.down = false;
      ctx.log('webhook-day: endpoint back up');
      const dlqCount = async () => {
        let n = 0;
        for (const id of o.subscriptionIds)
          n += (await svc.api<{ delivery?: { dlqCount?: number } }>('GET', `/v1/subscriptions/${id}`)).body.delivery?.dlqCount ?? 0;
        return n;
      };
      // Counters are written coalesced (about once a second), and under load the last events reach the DLQ
      // late: wait until its size has not moved for 3 s.
      let last = -1;
      let since = Date.now();
      await waitFor(async () => {
        const n = await dlqCount();
        if (n !== last) {
          last = n;
          since = Date.now();
        }
        return n > 0 && Date.now() - since >= 3_000;
      }, 30_000);
      const deliveredBefore = new Set(o.receiver.deliveries.map((d) => d.webhookId)).size;
      let redelivered = 0;
      for (const id of o.subscriptionIds) {
        const r = await svc.api<{ count: number }>('POST', `/v1/subscriptions/${id}/redeliver`, { dlq: true });
        if (r.status !== 202) throw new Error(`redeliver: ${r.status} ${r.text}`);
        redelivered += r.body.count;
      }
      const c = await o.ledger.settle(o.reader, o.receiver, 60_000);
      const v = verdict(c, { retrySchedule: '1s,2s,4s', dlq: last, redelivered, deliveredBeforeRedeliver: deliveredBefore });
      v.ok &&= redelivered > 0; // the DLQ path must have been taken
      return v;
    } finally {
      await svc.stop().catch(() => undefined);
      await o.close();
    }
  },
};
