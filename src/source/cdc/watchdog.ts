/**
 * Silence detection for thousands of clients without a timer each: one shared,
 * unref'd interval sweeps every armed entry. Touching an entry (on every Bayeux
 * reply) is a plain assignment, which matters more than the sweep's cost.
 */
export interface Watch {
  touch(): void;
  arm(timeoutMs: number): void;
  disarm(): void;
}

interface Entry {
  last: number;
  timeoutMs: number;
  onSilence(): void;
}

const MIN_TICK_MS = 20;
const MAX_TICK_MS = 5_000;

export class WatchdogWheel {
  readonly #armed = new Set<Entry>();
  #timer: NodeJS.Timeout | undefined;
  #tickMs = MAX_TICK_MS;

  constructor(private readonly now: () => number = () => performance.now()) {}

  watch(onSilence: () => void): Watch {
    const entry: Entry = { last: this.now(), timeoutMs: Infinity, onSilence };
    return {
      touch: () => {
        entry.last = this.now();
      },
      arm: (timeoutMs) => {
        entry.timeoutMs = timeoutMs;
        entry.last = this.now();
        this.#armed.add(entry);
        this.#reschedule();
      },
      disarm: () => {
        if (this.#armed.delete(entry)) this.#reschedule();
      },
    };
  }

  get size(): number {
    return this.#armed.size;
  }

  #reschedule(): void {
    if (this.#armed.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    // A quarter of the shortest timeout bounds how late a silence is noticed.
    let shortest = Infinity;
    for (const e of this.#armed) shortest = Math.min(shortest, e.timeoutMs);
    const tick = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, Math.floor(shortest / 4)));
    if (this.#timer && tick >= this.#tickMs) return;
    clearInterval(this.#timer);
    this.#tickMs = tick;
    this.#timer = setInterval(() => this.#sweep(), tick);
    this.#timer.unref();
  }

  #sweep(): void {
    const now = this.now();
    for (const e of this.#armed) {
      if (now - e.last < e.timeoutMs) continue;
      // Silence fires once; the owner re-arms when its new client is up.
      this.#armed.delete(e);
      try {
        e.onSilence();
      } catch {
        // An owner's failure must not stop the sweep for the other clients.
      }
    }
    if (this.#armed.size === 0) this.#reschedule();
  }
}

/** The process-wide wheel every subscriber shares. */
export const sharedWheel = new WatchdogWheel();
