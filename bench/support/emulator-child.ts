/**
 * The emulator in a process of its own: startEmulator({port: 0}), a ready message
 * over IPC, and answers to memory/CPU questions. SIGTERM closes it.
 */
import { createLogger } from '../../src/core/log.js';
import { startEmulator } from '../../src/emulator/server.js';

const connectTimeoutMs = process.argv[2] ? Number(process.argv[2]) : undefined;
const running = await startEmulator({
  port: 0,
  logger: createLogger({ name: 'bench-emulator', level: process.env.LOG_LEVEL ?? 'error' }),
  ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
  pubsub: true,
});

process.on('message', (m: { id: string; op: string; gc?: boolean }) => {
  try {
    if (m.op === 'memory') {
      if (m.gc && typeof globalThis.gc === 'function') globalThis.gc();
      process.send!({ id: m.id, result: process.memoryUsage() });
    } else if (m.op === 'cpu') {
      process.send!({ id: m.id, result: process.cpuUsage() });
    } else {
      process.send!({ id: m.id, error: `unknown op ${m.op}` });
    }
  } catch (err) {
    process.send!({ id: m.id, error: String(err) });
  }
});

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  // process.exit() (not a natural end) so that --cpu-prof writes its profile.
  void running.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 3_000).unref();
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
process.on('disconnect', close);
process.send!({ event: 'ready', url: running.url, pubsub: running.pubsub && { address: running.pubsub.address, caFile: running.pubsub.caFile } });
