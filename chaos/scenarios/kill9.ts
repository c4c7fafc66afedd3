/** 1. `kill -9` of a service instance (a child process) during activity, then a restart. */
import { childInstance, prefixFor, sleep, steadyOrg, verdict, activity, type Ctx, type Instance, type Scenario } from '../lib.js';

export const kill9: Scenario = {
  name: 'kill9',
  quick: false,
  async run(ctx: Ctx) {
    const prefix = prefixFor('kill9');
    let svc: Instance | undefined = await childInstance(ctx, { prefix });
    const o = await steadyOrg(ctx, ctx.brokers, prefix, (...a) => svc!.api(...a));
    try {
      const seconds = ctx.quick ? 8 : 14;
      await activity(ctx, o.org.orgId, 20, ['Lead'], seconds);
      await sleep(3_000);
      await svc.kill9!();
      ctx.log('kill9: instance killed (SIGKILL)');
      await sleep(2_000);
      svc = await childInstance(ctx, { prefix });
      ctx.log('kill9: instance restarted');
      await sleep((seconds - 5) * 1000 + 1_000);
      // Delivery resumes once the dead member's group session (30 s) has expired.
      const c = await o.ledger.settle(o.reader, o.receiver, 120_000);
      return verdict(c);
    } finally {
      await svc?.stop();
      await o.close();
    }
  },
};
