import { loadConfig } from '../config/load.js';
import { createLogger, logProcessWarnings } from '../core/log.js';
import { printReady, untilSignal } from '../cli/args.js';
import { startService } from './service.js';

/** `forcehook serve`: configuration from config/ and the environment. */
export async function runServeCommand(argv: string[]): Promise<void> {
  if (argv.length > 0) throw new Error(`--: serve takes no arguments (configure it with the environment), got '${argv.join(' ')}'`);
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  logProcessWarnings(logger);
  const service = await startService({ config, logger });
  printReady({ url: service.url });
  // A boot that failed for good (Kafka refused the credentials) ends the process; the service logged why.
  const failed = service.loaded.then(
    () => new Promise<never>(() => undefined),
    () => 'boot-failed' as const,
  );
  const sig = await Promise.race([untilSignal(), failed]);
  if (sig === 'boot-failed') {
    await service.stop();
    process.exit(1);
  }
  logger.info({ signal: sig }, 'stopping');
  // A stop that hangs (a broker gone mid-shutdown) must not keep the process: nothing un-acked was acknowledged upstream.
  const force = setTimeout(() => {
    logger.error('shutdown took longer than 30 s; exiting');
    process.exit(1);
  }, 30_000).unref();
  await service.stop();
  clearTimeout(force);
  // Everything is flushed and closed. A client library's reconnect timer (kafkajs
  // schedules one after a broker bounce) must not keep a stopped process alive.
  process.exit(0);
}
