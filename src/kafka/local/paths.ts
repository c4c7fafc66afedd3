import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAFKA_VERSION = '3.9.2';

/**
 * tools/kafka of this checkout or installed package. Found by walking up because the
 * module runs both from src/ (tsx) and from dist/src/ (compiled), at different depths.
 */
export function kafkaToolsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'tools', 'kafka');
    if (existsSync(join(candidate, 'pom.xml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tools/kafka/pom.xml not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** Where the broker jars live, outside the repo so they are never committed and survive clones. */
export function kafkaCacheDir(): string {
  const override = process.env.FORCEHOOK_KAFKA_CACHE;
  if (override) return override;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'forcehook', `kafka-${KAFKA_VERSION}`);
}

export function javaBinary(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}
