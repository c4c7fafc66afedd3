import { loadConfig } from '../config/load.js';
import { createLogger, logProcessWarnings } from '../core/log.js';
import { printReady, untilSignal } from '../cli/args.js';
import { startTracing } from '../observability/tracing-sdk.js';
import { startService } from './service.js';
import { armShutdownDeadline } from './shutdown-deadline.js';

/**
 * `forcehook serve`: configuration from config/ and the environment. SIGTERM or
 * SIGINT stops it in order within SHUTDOWN_DEADLINE_MS, whatever it is doing
 * (starting, loading state, rebalancing); a second one ends it at once.
 */
export async function runServeCommand(argv: string[]): Promise<void> {
  if (argv.length > 0) throw new Error(`--: serve takes no arguments (configure it with the environment), got '${argv.join(' ')}'`);
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  // OpenTelemetry's own variables; off unless OTEL_TRACES_EXPORTER is set.
  const tracing = startTracing();
  logProcessWarnings(logger);
  // Listening before anything starts, so that a signal during start-up is a stop like any other:
  // the deadline runs from the signal, not from whenever start-up happens to finish.
  const signalled = untilSignal();
  let stopAsked = false;
  void signalled.then((signal) => {
    stopAsked = true;
    logger.info({ signal }, 'stopping');
    armShutdownDeadline(logger);
  });
  const service = await startService({ config, logger });
  if (!stopAsked) printReady({ url: service.url });
  // A boot that failed for good (Kafka refused the credentials) ends the process; the service logged why.
  const failed = service.loaded.then(
    () => new Promise<never>(() => undefined),
    () => 'boot-failed' as const,
  );
  const why = await Promise.race([signalled, failed]);
  if (why === 'boot-failed') armShutdownDeadline(logger);
  await service.stop();
  await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'trace export at stop failed'));
  // Everything is flushed and closed. A client library's reconnect timer (kafkajs
  // schedules one after a broker bounce) must not keep a stopped process alive.
  process.exit(why === 'boot-failed' ? 1 : 0);
}
