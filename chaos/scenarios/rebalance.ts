/** 3. Under load, a third instance joins two, then one of the first two leaves (SIGTERM-like stop). */
import {
  activity,
  connectOrg,
  createOrg,
  inProcessInstance,
  Ledger,
  prefixFor,
  readEvents,
  sleep,
  startReceiver,
  streamingLive,
  adminCall,
  verdict,
  type Ctx,
  type Instance,
  type Scenario,
} from '../lib.js';

export const rebalance: Scenario = {
  name: 'rebalance',
  quick: false,
  async run(ctx: Ctx) {
    const prefix = prefixFor('rebalance');
    const live: Instance[] = [];
    const receiver = await startReceiver({ verify: 'any' });
    const reader = await readEvents(prefix, ctx.brokers);
    const orgIds: string[] = [];
    try {
      live.push(...(await Promise.all(['a', 'b'].map((instanceId) => inProcessInstance(ctx, { prefix, instanceId })))));
      await sleep(3_000);
      const orgs = await Promise.all(Array.from({ length: 6 }, () => createOrg(ctx)));
      for (const org of orgs) {
        // Whichever instance owns the org's partition follows it: ask them all.
        await connectOrg(live[0]!.api, org, receiver, ['Lead'], (id) => live.some((i) => i.service?.sources.status(id)?.subscriber === 'running'));
        await streamingLive(ctx, org.orgId);
        orgIds.push(org.orgId);
      }
      const seconds = ctx.quick ? 14 : 24;
      for (const id of orgIds) await activity(ctx, id, 5, ['Lead'], seconds);
      await sleep(4_000);
      live.push(await inProcessInstance(ctx, { prefix, instanceId: 'c' }));
      ctx.log('rebalance: instance c joined');
      await sleep(6_000);
      const leaving = live.splice(1, 1)[0]!;
      await leaving.stop();
      ctx.log('rebalance: instance b left');
      await sleep(Math.max(0, seconds - 10) * 1000 + 1_000);
      const c = await new Ledger(ctx, orgIds, ['Lead']).settle(reader, receiver, 90_000);
      return verdict(c, { orgs: orgIds.length });
    } finally {
      for (const i of live) await i.stop().catch(() => undefined);
      await reader.stop().catch(() => undefined);
      await receiver.close();
      for (const id of orgIds) await adminCall(ctx, 'DELETE', `/__emulator/orgs/${id}`).catch(() => undefined);
    }
  },
};
