import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { run, tail } from './exec.js';
import { KAFKA_VERSION, kafkaCacheDir, kafkaToolsDir } from './paths.js';

const COMPLETE = '.complete';
const CORE_JAR = `org.apache.kafka.kafka_2.13-${KAFKA_VERSION}.jar`;
const LOCK_STALE_MS = 15 * 60_000;
const FETCH_TIMEOUT_MS = 10 * 60_000;

/** The lib dir is usable only once the marker listing its jars exists and every listed jar is there. */
function libReady(lib: string): boolean {
  const marker = join(lib, COMPLETE);
  if (!existsSync(marker)) return false;
  const jars = readFileSync(marker, 'utf8').split('\n').filter(Boolean);
  return jars.includes(CORE_JAR) && jars.every((j) => existsSync(join(lib, j)));
}

/**
 * Returns the directory holding Kafka's jars, downloading them with Maven on first use.
 * Concurrent callers (parallel test runs, CI pre-fetch plus a test) serialise on a lock
 * directory; the download lands in a private directory that is renamed into place, so
 * a reader never sees a half-filled lib/.
 */
export async function ensureKafkaJars(opts: { logger?: Logger } = {}): Promise<string> {
  const cache = kafkaCacheDir();
  const lib = join(cache, 'lib');
  if (libReady(lib)) return lib;

  await mkdir(cache, { recursive: true });
  const release = await acquireLock(join(cache, '.fetch.lock'), opts.logger);
  try {
    if (libReady(lib)) return lib;
    const started = Date.now();
    opts.logger?.info({ cache }, `fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central (once)`);
    const partial = join(cache, `lib.partial-${process.pid}`);
    await rm(partial, { recursive: true, force: true });
    const res = await run('mvn', ['-B', '-q', '-f', join(kafkaToolsDir(), 'pom.xml'), `-Dkafka.lib.dir=${partial}`, 'dependency:copy-dependencies'], {
      timeoutMs: FETCH_TIMEOUT_MS,
    });
    if (res.error || res.code !== 0) {
      await rm(partial, { recursive: true, force: true });
      const why = res.error ? `cannot run mvn (${res.error.message}); install Maven 3.6.3+` : `mvn exited with ${res.code ?? res.signal}`;
      throw new ForcehookError('BROKER_START', `fetching Kafka jars failed: ${why}\n${tail(res.stdout + res.stderr)}`, {
        cause: res.error,
      });
    }
    const jars = (await readdir(partial)).filter((f) => f.endsWith('.jar')).sort();
    if (!jars.includes(CORE_JAR)) {
      throw new ForcehookError('BROKER_START', `fetching Kafka jars: ${CORE_JAR} missing after mvn in ${partial}`);
    }
    await writeFile(join(partial, COMPLETE), jars.join('\n') + '\n');
    await rm(lib, { recursive: true, force: true });
    await rename(partial, lib);
    opts.logger?.info({ ms: Date.now() - started, jars: jars.length }, 'Kafka jars fetched');
    return lib;
  } finally {
    await release();
  }
}

async function acquireLock(dir: string, logger?: Logger): Promise<() => Promise<void>> {
  const deadline = Date.now() + FETCH_TIMEOUT_MS + 60_000;
  let announced = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'owner'), JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now() }));
      return () => rm(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(dir)) {
      logger?.warn({ lock: dir }, 'removing stale Kafka fetch lock');
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      logger?.info({ lock: dir }, 'another process is fetching the Kafka jars; waiting');
      announced = true;
    }
    if (Date.now() > deadline) throw new ForcehookError('BROKER_START', `timed out waiting for the Kafka fetch lock ${dir}`);
    await sleep(500);
  }
}

async function lockIsStale(dir: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(join(dir, 'owner'), 'utf8')) as { pid: number; host: string; at: number };
    if (Date.now() - owner.at > LOCK_STALE_MS) return true;
    if (owner.host !== hostname()) return false;
    try {
      process.kill(owner.pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    // No readable owner yet: either being written right now or left by a crash between
    // mkdir and writeFile; only the lock's age can tell.
    try {
      return Date.now() - (await stat(dir)).mtimeMs > 30_000;
    } catch {
      return false;
    }
  }
}
