/**
 * `forcehook serve` ends after SIGTERM within its documented bound whatever it
 * is doing, with the broker gone at the same moment: a broker that does not
 * answer (stopped with SIGSTOP: connections stay open, nothing replies, the
 * hardest case for a client) or an address where nothing answers at all. A
 * second SIGTERM or SIGINT ends it at once.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalKafka, type LocalKafka } from '../../src/kafka/local/index.js';
import { SHUTDOWN_DEADLINE_MS } from '../../src/service/shutdown-deadline.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { spawnForcehook, type Spawned } from '../../testkit/process.js';
import { API_TOKEN, SECRET_KEY, waitUntil } from '../../testkit/service.js';

/** Spawning and tsx's start-up are not the service's time; the rest is. */
const SLACK_MS = 3_000;

function env(brokers: string, name: string): Record<string, string> {
  return {
    KAFKA_BROKERS: brokers,
    FORCEHOOK_API_TOKEN: API_TOKEN,
    FORCEHOOK_SECRET_KEY: SECRET_KEY,
    FORCEHOOK_HTTP_PORT: '0',
    FORCEHOOK_TOPIC_PREFIX: uniquePrefix(`shutdown-${name}`),
    LOG_LEVEL: 'info',
  };
}

/** A TCP address that accepts connections and never answers a byte. */
async function silentBroker(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends `signal` and resolves with how long the process took to exit, or fails past `withinMs`. */
async function exitTime(svc: Spawned, withinMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
  const t0 = Date.now();
  svc.child.kill(signal);
  const timedOut = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), withinMs).unref());
  const r = await Promise.race([svc.exited, timedOut]);
  if (r === 'hung') {
    svc.child.kill('SIGKILL');
    throw new Error(`still running ${withinMs} ms after ${signal}; last log lines:\n${svc.lines.slice(-8).join('\n')}`);
  }
  return Date.now() - t0;
}

const readyz = async (url: string): Promise<number> => (await fetch(`${url}/readyz`).catch(() => ({ status: 0 }))).status;

describe('forcehook serve stops within its bound', () => {
  let kafka: LocalKafka;
  let paused = false;
  const pause = (): void => {
    process.kill(kafka.pid, 'SIGSTOP');
    paused = true;
  };
  const resume = (): void => {
    if (paused) process.kill(kafka.pid, 'SIGCONT');
    paused = false;
  };

  beforeAll(async () => {
    kafka = await startLocalKafka();
  }, 120_000);
  afterAll(async () => {
    resume();
    await kafka?.stop();
  }, 60_000);

  it('while starting, the broker address answering nothing', async () => {
    const silent = await silentBroker();
    try {
      const svc = await spawnForcehook(['serve'], env(silent.address, 'starting'));
      await exitTime(svc, SHUTDOWN_DEADLINE_MS + SLACK_MS);
      // In order, not by the deadline: the boot attempt the silent broker holds is not waited for.
      expect(await svc.exited).toBe(0);
    } finally {
      await silent.close();
    }
  }, 90_000);

  it('while loading state, the broker stopped at the same moment', async () => {
    const svc = await spawnForcehook(['serve'], env(kafka.brokers, 'loading'));
    try {
      // The ready line comes before topics and state: the boot is under way.
      pause();
      await exitTime(svc, SHUTDOWN_DEADLINE_MS + SLACK_MS);
      expect(await svc.exited).toBe(0);
    } finally {
      resume();
      await svc.kill('SIGKILL');
    }
  }, 90_000);

  it('while joining its groups (rebalancing), the broker stopped at the same moment', async () => {
    const svc = await spawnForcehook(['serve'], env(kafka.brokers, 'joining'));
    try {
      await waitUntil(async () => (await readyz(svc.ready.url as string)) === 200, 60_000, 'ready');
      pause();
      await exitTime(svc, SHUTDOWN_DEADLINE_MS + SLACK_MS);
    } finally {
      resume();
      await svc.kill('SIGKILL');
    }
  }, 120_000);

  it('while running, the broker stopped at the same moment', async () => {
    const svc = await spawnForcehook(['serve'], env(kafka.brokers, 'running'));
    try {
      await waitUntil(async () => (await readyz(svc.ready.url as string)) === 200, 60_000, 'ready');
      await waitUntil(() => svc.lines.some((l) => l.includes('assignment partitions gained')), 60_000, 'groups joined');
      pause();
      await exitTime(svc, SHUTDOWN_DEADLINE_MS + SLACK_MS);
    } finally {
      resume();
      await svc.kill('SIGKILL');
    }
  }, 150_000);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'while stopping, a second %s ends it at once',
    async (second) => {
      const svc = await spawnForcehook(['serve'], env(kafka.brokers, 'second'));
      try {
        await waitUntil(async () => (await readyz(svc.ready.url as string)) === 200, 60_000, 'ready');
        pause();
        svc.child.kill('SIGTERM');
        await waitUntil(() => svc.lines.some((l) => l.includes('"msg":"stopping"')), 10_000, 'stopping');
        expect(await exitTime(svc, 3_000, second)).toBeLessThan(3_000);
        expect(await svc.exited).not.toBe(0);
      } finally {
        resume();
        await svc.kill('SIGKILL');
      }
    },
    120_000,
  );
});
