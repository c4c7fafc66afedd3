import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ForcehookError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import { startLocalKafka, type LocalKafka } from './local-kafka.js';

const DEFAULT_PORT = 9092;

const USAGE = 'usage: forcehook kafka [--port N] [--tls] [--sasl-scram USER:PASSWORD]   (--port 0 = any free port)';

/**
 * `forcehook kafka [--port N] [--tls] [--sasl-scram USER:PASSWORD]`: a local broker in the foreground. `argv` is what follows
 * `kafka` on the command line. Resolves to the process exit code once the broker is down;
 * stdout carries only the ready line, logs go to stderr.
 */
export async function runKafkaCommand(argv: string[]): Promise<number> {
  const logger = createLogger({ name: 'kafka', destination: pino.destination({ fd: 2, sync: true }) });
  let port: number;
  let tls: boolean;
  let saslScram: { username: string; password: string } | undefined;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, tls: { type: 'boolean' }, 'sasl-scram': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${values.port}`);
    tls = values.tls ?? false;
    const scram = values['sasl-scram'];
    if (scram !== undefined) {
      const colon = scram.indexOf(':');
      // Kafka's SCRAM user names are free text, but ',' '=' and ']' would break the --add-scram syntax.
      if (colon < 1 || colon === scram.length - 1 || /[,=\]\s]/.test(scram.slice(0, colon)) || /[,\]]/.test(scram.slice(colon + 1))) {
        throw new Error('--sasl-scram takes USER:PASSWORD (no , = ] or spaces in USER, no , ] in PASSWORD)');
      }
      saslScram = { username: scram.slice(0, colon), password: scram.slice(colon + 1) };
    }
  } catch (err) {
    process.stderr.write(`forcehook kafka: ${(err as Error).message}\n${USAGE}\n`);
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
    kafka = await startLocalKafka({ port, logger, signal: abort.signal, tls, ...(saslScram ? { saslScram } : {}) });
    if (abort.signal.aborted) {
      await kafka.stop();
      return 0;
    }
    const secured =
      kafka.securityProtocol === 'PLAINTEXT' ? {} : { securityProtocol: kafka.securityProtocol, ...(kafka.caFile ? { caFile: kafka.caFile } : {}) };
    process.stdout.write(JSON.stringify({ event: 'ready', brokers: kafka.brokers, ...secured }) + '\n');
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
