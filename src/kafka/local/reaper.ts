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

const live = new Set<Reapable>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onExit(): void {
  for (const r of live) r.killNow();
}

function onSignal(sig: NodeJS.Signals): void {
  // Installing a handler cancels Node's default "exit on signal"; when ours is the only
  // one, restore that behaviour after the brokers are down. Otherwise the app owns exit.
  const alone = process.listenerCount(sig) === 1;
  void Promise.allSettled([...live].map((r) => r.stop())).then(() => {
    if (!alone) return;
    uninstall();
    process.kill(process.pid, sig);
  });
}

function install(): void {
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', onExit);
  for (const s of SIGNALS) process.off(s, onSignal);
}

export function track(r: Reapable): void {
  if (live.size === 0) install();
  live.add(r);
}

export function untrack(r: Reapable): void {
  if (!live.delete(r)) return;
  if (live.size === 0) uninstall();
}
