/**
 * Last line of defence against orphaned JVMs from inside Node: whatever brokers are
 * still running when the process exits or is told to stop get stopped. (SIGKILL of
 * Node is covered by tools/kafka/with-parent.sh, which notices its parent is gone.)
 */
export interface Reapable {
  /** Synchronous best effort, for process 'exit' where nothing async runs any more. */
  killNow(): void;
  stop(): Promise<void>;
}

/** Stopped on exit; `onSignal` ones also at once on SIGINT/SIGTERM/SIGHUP. */
const live = new Map<Reapable, { onSignal: boolean }>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let signalsInstalled = false;

function onExit(): void {
  for (const r of live.keys()) r.killNow();
}

function onSignal(sig: NodeJS.Signals): void {
  // Installing a handler cancels Node's default "exit on signal"; when ours is the only
  // one, restore that behaviour after the brokers are down. Otherwise the app owns exit.
  const alone = process.listenerCount(sig) === 1;
  const stopping = [...live].filter(([, o]) => o.onSignal).map(([r]) => r.stop());
  void Promise.allSettled(stopping).then(() => {
    if (!alone) return;
    uninstall();
    process.kill(process.pid, sig);
  });
}

function uninstall(): void {
  process.off('exit', onExit);
  if (signalsInstalled) for (const s of SIGNALS) process.off(s, onSignal);
  signalsInstalled = false;
}

/**
 * `onSignal: false` for an owner that stops the broker itself on a signal, in its
 * own order (the demo stops the service first: against a broker already gone, its
 * Kafka clients would retry until their stop timed out).
 */
export function track(r: Reapable, opts: { onSignal?: boolean } = {}): void {
  const first = live.size === 0;
  live.set(r, { onSignal: opts.onSignal ?? true });
  if (first) process.on('exit', onExit);
  if (!signalsInstalled && (opts.onSignal ?? true)) {
    for (const s of SIGNALS) process.on(s, onSignal);
    signalsInstalled = true;
  }
}

export function untrack(r: Reapable): void {
  if (!live.delete(r)) return;
  if (live.size === 0) uninstall();
}
