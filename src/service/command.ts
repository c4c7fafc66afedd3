import { loadConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { printReady, untilSignal } from '../cli/args.js';
import { startService } from './service.js';

/** `forcehook serve`: configuration from config/ and the environment. */
export async function runServeCommand(argv: string[]): Promise<void> {
  if (argv.length > 0) throw new Error(`--: serve takes no arguments (configure it with the environment), got '${argv.join(' ')}'`);
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const service = await startService({ config, logger });
  printReady({ url: service.url });
  const sig = await untilSignal();
  logger.info({ signal: sig }, 'stopping');
  await service.stop();
}
