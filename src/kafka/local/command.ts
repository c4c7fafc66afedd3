import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ForcehookError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { startLocalKafka, type LocalKafka } from './local-kafka.js';

const DEFAULT_PORT = 9092;

/**
 * `forcehook kafka [--port N]`: a local broker in the foreground. `argv` is what follows
 * `kafka` on the command line. Resolves to the process exit code once the broker is down;
 * stdout carries only the ready line, logs go to stderr.
 */
export async function runKafkaCommand(argv: string[]): Promise<number> {
  const logger = createLogger({ name: 'kafka', destination: pino.destination({ fd: 2, sync: true }) });
  let port: number;
  try {
    const { values } = parseArgs({ args: argv, options: { port: { type: 'string' } }, strict: true, allowPositionals: false });
    port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${values.port}`);
  } catch (err) {
    process.stderr.write(`forcehook kafka: ${(err as Error).message}\nusage: forcehook kafka [--port N]   (0 = any free port)\n`);
    return 2;
  }

  const abort = new AbortController();
  let kafka: LocalKafka | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    logger.info({ signal: sig }, 'stopping local Kafka');
    abort.abort();
    void kafka?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    kafka = await startLocalKafka({ port, logger, signal: abort.signal });
    if (abort.signal.aborted) {
      await kafka.stop();
      return 0;
    }
    process.stdout.write(JSON.stringify({ event: 'ready', brokers: kafka.brokers }) + '\n');
    await kafka.exited;
    if (abort.signal.aborted) {
      await kafka.stop();
      return 0;
    }
    logger.error('the Kafka JVM exited unexpectedly');
    await kafka.stop();
    return 1;
  } catch (err) {
    if (err instanceof ForcehookError && err.code === 'ABORTED') return 0;
    logger.error({ err }, 'local Kafka failed');
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runKafkaCommand(process.argv.slice(2));
}
