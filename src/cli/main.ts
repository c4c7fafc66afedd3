import { ConfigError } from '../core/errors.js';

const USAGE = `usage: forcehook <command>

  serve                         the service (config/ and the environment)
  rekey                         whether every stored secret is sealed under FORCEHOOK_SECRET_KEY (exit 0) or not yet (1)
  emulator [--port N] [--host H] the Salesforce org emulator
  kafka [--port N]              a local single-node Kafka broker in the foreground
  demo                          what 'npm start' runs: broker, emulated org, service, webhook receiver
`;

/** Resolves when the command is done; a number is the exit code. */
type Command = (argv: string[]) => Promise<void | number>;

// Loaded lazily so that `forcehook kafka` does not pay for express, jsforce, ...
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('../service/command.js')).runServeCommand,
  rekey: async () => (await import('../service/rekey-command.js')).runRekeyCommand,
  emulator: async () => (await import('../emulator/command.js')).runEmulatorCommand,
  kafka: async () => (await import('../kafka/local/command.js')).runKafkaCommand,
  demo: async () => (await import('../demo/command.js')).runDemoCommand,
};

const DEV_TOOLS = new Set(['emulator', 'demo']);

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`forcehook: unknown command '${name}'\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  let command: Command;
  try {
    command = await load();
  } catch (err) {
    // The container image leaves the development tools (emulator, demo) out.
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !DEV_TOOLS.has(name)) throw err;
    process.stderr.write(`forcehook: '${name}' is a development tool and not part of this installation\n`);
    process.exitCode = 2;
    return;
  }
  const code = await command(rest);
  if (typeof code === 'number') process.exitCode = code;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // A bad setting or argument is one line naming it, not a stack trace.
  if (err instanceof ConfigError || (err instanceof Error && /^--\w+|^[A-Z_]+: /.test(err.message))) {
    process.stderr.write(`forcehook: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`forcehook: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
