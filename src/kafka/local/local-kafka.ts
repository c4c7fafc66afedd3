import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { retry, retryPolicy } from '../../core/retry.js';
import { freePort, portIsFree, randomClusterId, securityProtocol, serverProperties, type ListenerSecurity, type SecurityProtocol } from './config.js';
import { run, tail } from './exec.js';
import { ensureKafkaJars } from './jars.js';
import { KAFKA_VERSION, javaBinary, kafkaToolsDir } from './paths.js';
import { track, untrack, type Reapable } from './reaper.js';
import { certificatesIn, makeLocalCertificates } from './tls.js';

export interface LocalKafkaOptions {
  /** 0 or undefined: any free port. */
  port?: number;
  logger?: Logger;
  /** Aborting while the broker starts stops it and rejects with code ABORTED. */
  signal?: AbortSignal;
  /** Default 90 s. */
  startTimeoutMs?: number;
  /**
   * Keep the broker's files here instead of a fresh temp dir: storage is formatted only if the dir holds none
   * yet, and stop() leaves the dir in place (the caller owns it). Lets a broker be killed and restarted on its
   * own data (with the same `port`), as after a crash.
   */
  runDir?: string;
  /** false: a signal to this process does not stop the broker at once; its owner stops it (see reaper.ts). @default true */
  stopOnSignal?: boolean;
  /** Serve TLS only, with a certificate for 127.0.0.1 signed by a CA made at start (`caFile`). */
  tls?: boolean;
  /** Require SASL/SCRAM-SHA-512 as this user. */
  saslScram?: { username: string; password: string };
}

export interface LocalKafka {
  /** "127.0.0.1:PORT" */
  brokers: string;
  /** The broker JVM's pid. */
  pid: number;
  /** How clients must connect: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. */
  securityProtocol: SecurityProtocol;
  /** With `tls`: the PEM of the CA that signed the broker's certificate. */
  caFile?: string;
  /** Stops the JVM (SIGTERM, SIGKILL after ~15 s) and removes its run dir. Idempotent. */
  stop(): Promise<void>;
  /** Settles when the JVM is gone, whether stopped or crashed. */
  exited: Promise<void>;
}

const READY_LINE = 'Kafka Server started';
const STOP_GRACE_MS = 20_000;
// Small and quick rather than fast at steady state: this broker serves tests and demos on 2 cores.
const JVM_OPTS = ['-Xms256m', '-Xmx512m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

/** Two attempts, the second at once: new ports are probed for it. */
const PORT_RACE_RETRY = retryPolicy({ maxAttempts: 2, initialDelayMs: 0, jitter: 0 });

export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const lib = await ensureKafkaJars({ logger: opts.logger });
  // A free port found by probing can be taken before the JVM binds it; one retry covers that race.
  return retry(PORT_RACE_RETRY, () => startOnce(lib, opts), {
    retryIf: (err) => !opts.port && err instanceof ForcehookError && /Address already in use/.test(err.message),
    onRetry: () => opts.logger?.warn('Kafka port taken between probe and bind; retrying on other ports'),
  });
}

async function startOnce(lib: string, opts: LocalKafkaOptions): Promise<LocalKafka> {
  const started = Date.now();
  const tools = kafkaToolsDir();
  const port = opts.port || (await freePort());
  if (opts.port && !(await portIsFree(opts.port))) {
    throw new ForcehookError('BROKER_START', `port ${opts.port} on 127.0.0.1 is already in use`);
  }
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();

  const ownDir = !opts.runDir;
  const runDir = opts.runDir ?? (await mkdtemp(join(tmpdir(), 'forcehook-kafka-')));
  if (!ownDir) mkdirSync(runDir, { recursive: true });
  const formatted = !ownDir && existsSync(join(runDir, 'data', 'meta.properties'));
  const removeRunDir = (): void => {
    if (ownDir) rmSync(runDir, { recursive: true, force: true });
  };
  const props = join(runDir, 'server.properties');
  const logPath = join(runDir, 'server.log');
  const pidFile = join(runDir, 'kafka.pid');
  if (!ownDir) {
    // A previous run's pid and ready line must not be taken for this one's.
    rmSync(pidFile, { force: true });
    rmSync(logPath, { force: true });
  }
  // The certificate lives with the broker's files; a kept run dir keeps it, so clients' CA file stays valid across restarts.
  const certs = opts.tls ? (existsSync(join(runDir, 'ca.pem')) && formatted ? certificatesIn(runDir) : await makeLocalCertificates(runDir)) : undefined;
  const security: ListenerSecurity = { ...(certs ? { tls: certs } : {}), ...(opts.saslScram ? { scram: opts.saslScram } : {}) };
  await writeFile(props, serverProperties({ port, controllerPort, dataDir: join(runDir, 'data'), security }));
  const cp = join(lib, '*'); // expanded by the JVM, not a shell

  const fail = (message: string, logText = ''): ForcehookError => {
    removeRunDir();
    return new ForcehookError('BROKER_START', logText ? `${message}\n--- broker log tail ---\n${tail(logText)}` : message);
  };

  const fmt = formatted
    ? { code: 0, stdout: '', stderr: '', error: undefined, signal: null }
    : await run(
        javaBinary(),
        [
          ...JVM_OPTS.slice(2),
          '-Xmx256m',
          `-Dlog4j.configuration=file:${join(tools, 'tools-log4j.properties')}`,
          '-cp',
          cp,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          randomClusterId(),
          '-c',
          props,
          // SCRAM users live in the cluster's metadata: KRaft takes the first one at format time.
          ...(opts.saslScram ? ['--add-scram', `SCRAM-SHA-512=[name=${opts.saslScram.username},password=${opts.saslScram.password}]`] : []),
        ],
        { timeoutMs: 60_000 },
      );
  if (fmt.error || fmt.code !== 0) {
    const why = fmt.error ? `cannot run java (${fmt.error.message}); install Java 17+ or set JAVA_HOME` : `exit ${fmt.code ?? fmt.signal}`;
    throw fail(`formatting Kafka storage failed: ${why}`, fmt.stdout + fmt.stderr);
  }

  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'bash',
      [
        join(tools, 'with-parent.sh'),
        String(process.pid),
        pidFile,
        ownDir ? runDir : '',
        '--',
        javaBinary(),
        ...JVM_OPTS,
        `-Dlog4j.configuration=file:${join(tools, 'log4j.properties')}`,
        `-Dkafka.logs.dir=${join(runDir, 'logs')}`,
        '-cp',
        cp,
        'kafka.Kafka',
        props,
      ],
      // own process group: a terminal's Ctrl-C reaches us, and we stop the broker in order
      { detached: true, stdio: ['ignore', logFd, logFd] },
    );
  } finally {
    closeSync(logFd);
  }
  const wrapperPid = child.pid;
  if (wrapperPid === undefined) throw fail('could not spawn bash for the Kafka watchdog');

  let javaPid = 0;
  const exited = new Promise<void>((resolve) => {
    const gone = (): void => {
      // Should the watchdog die some other way (SIGKILL), the JVM must not outlive it.
      if (javaPid) killQuietly(javaPid, 'SIGKILL');
      resolve();
    };
    child.once('exit', gone);
    child.once('error', gone);
  });
  let wrapperGone = false;
  void exited.then(() => (wrapperGone = true));

  let stopping: Promise<void> | undefined;
  const handle: Reapable = {
    killNow: () => killQuietly(wrapperPid, 'SIGTERM'),
    stop: () => (stopping ??= stopBroker()),
  };
  async function stopBroker(): Promise<void> {
    // A broker in a dir of its own is thrown away with the dir: its controlled shutdown (seconds: the
    // demo took ~11 s to exit after Ctrl-C) would only tidy data about to be deleted.
    const throwAway = ownDir && javaPid > 0;
    if (throwAway) killQuietly(javaPid, 'SIGKILL');
    else killQuietly(wrapperPid!, 'SIGTERM');
    const done = await settlesWithin(exited, throwAway ? 5_000 : STOP_GRACE_MS);
    if (!done) {
      killQuietly(javaPid, 'SIGKILL');
      killQuietly(wrapperPid!, 'SIGKILL');
      await exited;
    }
    await waitGone(javaPid, 5_000);
    removeRunDir();
    untrack(handle);
    opts.logger?.info({ pid: javaPid }, 'local Kafka stopped');
  }
  track(handle, { onSignal: opts.stopOnSignal ?? true });

  const deadline = started + (opts.startTimeoutMs ?? 90_000);
  const readLog = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  for (;;) {
    if (!javaPid && existsSync(pidFile)) javaPid = Number((await readFile(pidFile, 'utf8')).trim()) || 0;
    const log = readLog();
    if (javaPid && log.includes(READY_LINE)) break;
    const problem = wrapperGone
      ? 'the Kafka JVM exited during start-up'
      : opts.signal?.aborted
        ? 'aborted'
        : Date.now() > deadline
          ? `Kafka not ready after ${Math.round((Date.now() - started) / 1000)} s`
          : undefined;
    if (problem) {
      await handle.stop();
      if (problem === 'aborted') throw new ForcehookError('ABORTED', 'local Kafka start aborted');
      throw new ForcehookError('BROKER_START', `${problem}\n--- broker log tail ---\n${tail(log)}`);
    }
    await sleep(200);
  }

  const brokers = `127.0.0.1:${port}`;
  const protocol = securityProtocol(security);
  opts.logger?.info({ brokers, pid: javaPid, ms: Date.now() - started, version: KAFKA_VERSION, runDir, securityProtocol: protocol }, 'local Kafka ready');
  return { brokers, pid: javaPid, securityProtocol: protocol, ...(certs ? { caFile: certs.caFile } : {}), stop: handle.stop, exited };
}

/** Unlike racing a sleep, leaves no timer behind to hold the process open. */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function killQuietly(pid: number, sig: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitGone(pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (pid && isAlive(pid) && Date.now() < until) await sleep(100);
}
