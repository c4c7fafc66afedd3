/**
 * 2. The Kafka broker's JVM killed (SIGKILL) during activity and restarted on the same port and the SAME data
 * dir (startLocalKafka's `runDir`), so what it had acknowledged (events, offsets, state) survives, as after a crash.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalKafka, type LocalKafka } from '../../src/kafka/local/index.js';
import { freePort } from '../../src/kafka/local/config.js';
import { activity, inProcessInstance, prefixFor, sleep, steadyOrg, verdict, type Ctx, type Instance, type Scenario } from '../lib.js';

export const broker: Scenario = {
  name: 'broker',
  quick: false,
  async run(ctx: Ctx) {
    const runDir = await mkdtemp(join(tmpdir(), 'forcehook-chaos-kafka-'));
    const port = await freePort();
    let kafka: LocalKafka | undefined = await startLocalKafka({ port, runDir });
    const brokers = [kafka.brokers];
    const prefix = prefixFor('broker');
    let svc: Instance | undefined;
    let o: Awaited<ReturnType<typeof steadyOrg>> | undefined;
    try {
      svc = await inProcessInstance(ctx, { prefix, brokers });
      o = await steadyOrg(ctx, brokers, prefix, svc.api);
      const seconds = ctx.quick ? 10 : 16;
      await activity(ctx, o.org.orgId, 20, ['Lead'], seconds);
      await sleep(4_000);
      process.kill(kafka.pid, 'SIGKILL');
      await kafka.exited;
      await kafka.stop(); // untracks it; the dir is ours and stays
      kafka = undefined;
      ctx.log('broker: JVM killed (SIGKILL)');
      await sleep(5_000);
      kafka = await startLocalKafka({ port, runDir });
      ctx.log('broker: restarted on the same port and data dir');
      await sleep(Math.max(0, seconds - 9) * 1000 + 1_000);
      const c = await o.ledger.settle(o.reader, o.receiver, 120_000);
      return verdict(c, { sameDataDir: true });
    } finally {
      await svc?.stop().catch(() => undefined);
      await o?.close();
      await kafka?.stop();
      await rm(runDir, { recursive: true, force: true });
    }
  },
};
