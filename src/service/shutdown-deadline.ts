import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/log.js';

/**
 * How long `forcehook serve` may take to stop after SIGTERM or SIGINT, whatever it
 * is doing. Under the 30 s a container orchestrator grants by default before it
 * kills, so a stop that runs out of time still ends on our terms and says so.
 */
export const SHUTDOWN_DEADLINE_MS = 25_000;

/** Past the deadline, time for the exit itself (flushing the last log line) before the watchdog kills. */
const WATCHDOG_GRACE_MS = 2_000;

/**
 * A stop that cannot end in order (a broker gone, a call that never returns)
 * must not keep the process: nothing un-acknowledged was acknowledged upstream,
 * so ending it loses nothing. Two guards: a timer that exits with a log line,
 * and, in case the main thread itself is stuck (a synchronous write into a
 * full pipe, a loop that never yields) and that timer can never run, a
 * watchdog thread that kills the process. Neither keeps a process alive that
 * would otherwise end. Returns the disarm.
 */
export function armShutdownDeadline(logger: Logger, ms: number = SHUTDOWN_DEADLINE_MS): () => void {
  const timer = setTimeout(() => {
    logger.error({ deadlineMs: ms }, 'stop did not finish within its deadline; exiting');
    process.exit(1);
  }, ms).unref();
  // Only globals in the thread's code: it runs as a script or as a module depending on the loader in use.
  const watchdog = new Worker(`setTimeout(() => process.kill(${process.pid}, 'SIGKILL'), ${ms + WATCHDOG_GRACE_MS});`, {
    eval: true,
    stdout: true,
    stderr: true,
  });
  // A watchdog that cannot start leaves the timer above; its failure is no reason to crash a stopping process.
  watchdog.on('error', (err) => logger.warn({ err }, 'shutdown watchdog failed'));
  watchdog.unref();
  return () => {
    clearTimeout(timer);
    void watchdog.terminate();
  };
}
