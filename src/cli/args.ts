import { parseArgs } from 'node:util';

/** `--port N --host H` for the long-running commands; anything else is an error. */
export function parseServerArgs(argv: string[], defaults: { port: number; host?: string }): { port: number; host: string } {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const port = values.port === undefined ? defaults.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: '${values.port}' is not a port number`);
  return { port, host: values.host ?? defaults.host ?? '127.0.0.1' };
}

/** The one stdout line that says a long-running command is ready. */
export function printReady(fields: Record<string, string | number>): void {
  process.stdout.write(`${JSON.stringify({ event: 'ready', ...fields })}\n`);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
