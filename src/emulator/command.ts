/**
 * `forcehook emulator [--port N] [--host H]`: prints one ready line on stdout
 * (`{"event":"ready","url":…}`), logs go to stderr, SIGINT/SIGTERM stop it.
 */
import { createLogger, logProcessWarnings } from '../core/log.js';
import { startEmulator } from './server.js';

function parseArgs(argv: string[]): { port: number; host: string } {
  let port = 0;
  let host = '127.0.0.1';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag}: a value is required`);
      return v;
    };
    if (flag === '--port') {
      const v = value();
      port = Number(v);
      if (!/^\d+$/.test(v) || port > 65535) throw new Error(`--port: not a port number: ${v}`);
    } else if (flag === '--host') {
      host = value();
    } else {
      throw new Error(`--${flag.replace(/^-+/, '')}: unknown option (usage: forcehook emulator [--port N] [--host H])`);
    }
  }
  return { port, host };
}

export async function runEmulatorCommand(argv: string[]): Promise<void> {
  const { port, host } = parseArgs(argv);
  const logger = createLogger({ name: 'forcehook-emulator', destination: process.stderr });
  logProcessWarnings(logger);
  const running = await startEmulator({ port, host, logger, pubsub: true });
  const ready = { event: 'ready', url: running.url, pubsub: running.pubsub?.address, pubsubCaFile: running.pubsub?.caFile };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
