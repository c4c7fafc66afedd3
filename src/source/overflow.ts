/**
 * Reading back what an overflow left out, beside the stream rather than inside its batch. A GAP_OVERFLOW
 * names an entity, not records: every row of it changed since the overflow's commit must be read again,
 * which can be hundreds of thousands. The read is recorded durably before the stream's position moves past
 * the overflow, then runs on its own: a page read, its changes published, its position checkpointed, the
 * next page. A restart (this instance's or another's) resumes each unfinished read from its checkpoint.
 */
import { isRetriable } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { retry, retryPolicy, type RetryPolicy } from '../core/retry.js';
import type { RawChange } from '../normalize/index.js';
import type { Checkpoint } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import type { ReconcileCursor, ReconcilePage, ReconcileWindow } from './polling/index.js';

type ReconcileCheckpoint = Extract<Checkpoint, { kind: 'reconcile' }>;

export type ReconcileStore = Pick<ServiceStore, 'reconcileCheckpoints' | 'putCheckpoint' | 'deleteReconcileCheckpoint'>;

export interface OverflowOptions {
  connectionId: string;
  store: ReconcileStore;
  /** The window's changes page by page, from `from` when resuming (polling/reconcile.ts). */
  pages(object: string, window: ReconcileWindow, from: ReconcileCursor): AsyncIterable<ReconcilePage>;
  /** Resolves once Kafka acknowledged the changes' events. */
  ingest(changes: readonly RawChange[]): Promise<void>;
  logger: Logger;
  now(): number;
  /** Between failed attempts; a read that fails for good stays recorded and is tried again at the next start. */
  retry?: RetryPolicy;
}

interface Read {
  object: string;
  sinceMs: number;
  cursor: ReconcileCursor;
  /** Bumped when a later overflow widens the read: pages of the older run are then not checkpointed. */
  generation: number;
  /** Window starts already taken in: the same overflow delivered again (a replay) changes nothing. */
  starts: Set<number>;
}

const DEFAULT_RETRY = retryPolicy({ initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 60_000, jitter: 0.2 });

/** Where a read starts again when an overflow at `sinceMs` joins it: before whatever the read has not covered. */
function widen(read: Read, sinceMs: number): boolean {
  if (read.starts.has(sinceMs)) return false;
  read.starts.add(sinceMs);
  const covered = read.cursor.phase === 'rows' ? read.cursor.since : Number.POSITIVE_INFINITY;
  if (sinceMs >= covered && sinceMs >= read.sinceMs) return false;
  read.sinceMs = Math.min(read.sinceMs, sinceMs);
  read.cursor = { phase: 'rows', since: Math.min(sinceMs, covered) };
  read.generation++;
  return true;
}

export class OverflowReads {
  readonly #opts: OverflowOptions;
  readonly #reads = new Map<string, Read>();
  readonly #tasks = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();

  constructor(opts: OverflowOptions) {
    this.#opts = opts;
  }

  /** Reads left unfinished by an earlier run, resumed where their checkpoints say. */
  resume(): void {
    for (const cp of this.#opts.store.reconcileCheckpoints(this.#opts.connectionId)) {
      const cursor: ReconcileCursor =
        cp.phase === 'deleted' ? { phase: 'deleted' } : { phase: 'rows', since: cp.since ?? cp.sinceMs, ...(cp.afterId ? { afterId: cp.afterId } : {}) };
      if (this.#reads.has(cp.object.toLowerCase())) continue;
      this.#reads.set(cp.object.toLowerCase(), { object: cp.object, sinceMs: cp.sinceMs, cursor, generation: 0, starts: new Set([cp.sinceMs]) });
      this.#opts.logger.info({ object: cp.object, since: new Date(cp.sinceMs).toISOString(), cursor }, 'resuming an overflow read back');
      this.#run(cp.object);
    }
  }

  /**
   * Records that `object` must be read back from `sinceMs` and starts the read. Resolves once that is
   * durable: only then may the stream's position move past the overflow.
   */
  async add(object: string, sinceMs: number): Promise<void> {
    const key = object.toLowerCase();
    const read = this.#reads.get(key);
    if (read && !widen(read, sinceMs)) return;
    const next: Read = read ?? { object, sinceMs, cursor: { phase: 'rows', since: sinceMs }, generation: 0, starts: new Set([sinceMs]) };
    this.#reads.set(key, next);
    await this.#save(next);
    this.#run(object);
  }

  /** Objects with a read under way. */
  pending(): string[] {
    return [...this.#reads.values()].map((r) => r.object);
  }

  /** Ends the reads after the page in flight; their checkpoints stay for the next start. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#tasks.values()]);
  }

  #run(object: string): void {
    const key = object.toLowerCase();
    if (this.#tasks.has(key) || this.#abort.signal.aborted) return;
    const signal = this.#abort.signal;
    const task = retry(this.#opts.retry ?? DEFAULT_RETRY, () => this.#readToEnd(key), {
      forever: true,
      signal,
      retryIf: (err) => isRetriable(err) && !signal.aborted,
      onRetry: (err, attempt, delay) => this.#opts.logger.warn({ err, object, attempt, delay }, 'overflow read back failed; resuming from its checkpoint'),
    }).then(
      () => {
        this.#tasks.delete(key);
        // An overflow that arrived while the finished read was being closed.
        if (this.#reads.has(key)) this.#run(object);
      },
      (err: unknown) => {
        this.#tasks.delete(key);
        if (!signal.aborted) this.#opts.logger.error({ err, object }, 'overflow read back failed; tried again at the next start');
      },
    );
    this.#tasks.set(key, task);
  }

  async #readToEnd(key: string): Promise<void> {
    for (;;) {
      const read = this.#reads.get(key);
      if (!read || this.#abort.signal.aborted) return;
      const { generation } = read;
      let published = 0;
      let done = false;
      for await (const page of this.#opts.pages(read.object, { sinceMs: read.sinceMs }, read.cursor)) {
        await this.#opts.ingest(page.changes);
        published += page.changes.length;
        // A later overflow widened the read meanwhile: start again from where it now begins.
        if (read.generation !== generation) break;
        if (page.next === undefined) {
          done = true;
          break;
        }
        read.cursor = page.next;
        await this.#save(read);
        if (this.#abort.signal.aborted) return;
      }
      if (read.generation !== generation) continue;
      if (!done) return;
      this.#reads.delete(key);
      await this.#opts.store.deleteReconcileCheckpoint(this.#opts.connectionId, read.object);
      this.#opts.logger.info({ object: read.object, since: new Date(read.sinceMs).toISOString(), changes: published }, 'overflow read back');
      return;
    }
  }

  #save(read: Read): Promise<void> {
    const cp: ReconcileCheckpoint = {
      kind: 'reconcile',
      connectionId: this.#opts.connectionId,
      object: read.object,
      sinceMs: read.sinceMs,
      phase: read.cursor.phase,
      ...(read.cursor.phase === 'rows' ? { since: read.cursor.since, ...(read.cursor.afterId ? { afterId: read.cursor.afterId } : {}) } : {}),
      updatedAt: new Date(this.#opts.now()).toISOString(),
    };
    return this.#opts.store.putCheckpoint(cp);
  }
}
