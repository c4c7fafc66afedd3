import type { CdcTransport } from './cdc/index.js';
import type { SalesforceEgress } from '../net/salesforce-egress.js';
import type { Logger } from '../core/log.js';
import type { RetryPolicy } from '../core/retry.js';
import { SyncQueue } from '../core/sync-queue.js';
import type { Metrics } from '../observability/metrics.js';
import type { Publisher } from '../publish/publisher.js';
import type { ServiceStore } from '../state/store.js';
import { followedObject } from './followed.js';
import { grantOf, type ConnectionRecord } from '../state/records.js';
import type { ConnectionService } from '../salesforce/connections.js';
import type { ConnectionRuntime, ConnectionStatusView } from './status.js';
import { OrgSupervisor } from './supervisor.js';
import type { TokenKeeper } from '../salesforce/tokens.js';

export interface SourceManagerOptions {
  store: ServiceStore;
  connections: ConnectionService;
  tokens: TokenKeeper;
  publisher: Publisher;
  logger: Logger;
  metrics?: Metrics;
  pollIntervalMs: number;
  budgetShare: number;
  egress: SalesforceEgress;
  /** How CDC is followed (FORCEHOOK_CDC_TRANSPORT). @default cometd */
  cdcTransport?: CdcTransport;
  /** The transport of a connection that names its own (`cdcTransport` on the connection); absent: the default serves all. */
  cdcTransportFor?: (kind: CdcTransport['kind']) => CdcTransport;
  /** Which connections this instance follows (scale-out hands out a share). @default all */
  owns?: (connectionId: string) => boolean;
  modeRefreshMs?: number;
  /** While objects are streamed, how often the CDC selection alone is checked. @default 1 min */
  selectionCheckMs?: number;
  /** How long an org whose streaming allocation is spent is polled before streaming is tried again. */
  streamingLimitRetry?: RetryPolicy;
  /** Orgs brought in line at once (each: a token, the CDC selection, a checkpoint, a handshake). @default 16 */
  concurrency?: number;
}

/**
 * Keeps one OrgSupervisor per followed connection in step with the state:
 * a connection is followed while it is active and has at least one
 * subscription; what it follows is the union of its subscriptions' objects.
 * Reacts to state changes from any instance (they arrive through the
 * compacted topic) one at a time per org, so two changes never race on one
 * org, and for up to `concurrency` orgs at once: one after the other, an org
 * whose API calls hung held every other org's start back, a rebalance's moved
 * orgs included.
 */
export class SourceManager implements ConnectionRuntime {
  readonly #supervisors = new Map<string, OrgSupervisor>();
  /** The grant each supervisor was built with: a new grant (not a rotated token) needs a new session. */
  readonly #grants = new Map<string, string>();
  /** The transport each supervisor was built with: a connection that changes its own needs a new subscriber. */
  readonly #transports = new Map<string, CdcTransport['kind']>();
  readonly #queue: SyncQueue;
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly opts: SourceManagerOptions) {
    this.#queue = new SyncQueue(opts.concurrency ?? 16, (err, connectionId) => opts.logger.error({ err, connectionId }, 'source manager task failed'));
  }

  start(): void {
    this.#unsubscribe = this.opts.store.onChange((change) => {
      // A subscription's tombstone does not say which connection it was on: look at all of them.
      const id = change.kind === 'connection' ? change.id : change.subscription?.connectionId;
      if (id === undefined) this.reconcileAll();
      else this.#enqueue(id);
    });
    this.reconcileAll();
  }

  /** Re-evaluates every connection (ownership changes, deleted subscriptions). */
  reconcileAll(): void {
    for (const id of new Set([...this.opts.store.connections().map((c) => c.id), ...this.#supervisors.keys()])) this.#enqueue(id);
  }

  /**
   * Re-evaluates only these connections: an ownership change need not queue a
   * task for every org that stayed.
   */
  reconcile(connectionIds: Iterable<string>): void {
    for (const id of connectionIds) this.#enqueue(id);
  }

  /**
   * Stops these connections' subscribers now, in parallel and ahead of queued
   * work: a lost partition's next owner starts after a fixed wait, so stopping
   * must not queue behind starts. Call once `owns` already answers false for
   * them, so no queued sync starts them again.
   */
  async release(which: (connectionId: string) => boolean): Promise<void> {
    const stopping: Promise<void>[] = [];
    for (const [id, sup] of [...this.#supervisors]) {
      if (!which(id)) continue;
      this.#supervisors.delete(id);
      stopping.push(sup.stop().catch((err: unknown) => this.opts.logger.error({ err, connectionId: id }, 'subscriber stop failed')));
    }
    await Promise.all(stopping);
  }

  /** Resolves once every queued change was applied. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  status(connectionId: string): ConnectionStatusView | undefined {
    const s = this.#supervisors.get(connectionId);
    if (!s) return undefined;
    const apiUsage = s.session.apiUsage();
    return { subscriber: s.view(), objects: s.objectModes(), warnings: s.warnings(), ...(apiUsage ? { apiUsage } : {}) };
  }

  /** States of the subscribers running here, for metrics. */
  *states(): Iterable<string> {
    for (const s of this.#supervisors.values()) yield s.view();
  }

  supervisor(connectionId: string): OrgSupervisor | undefined {
    return this.#supervisors.get(connectionId);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    await this.#queue.idle();
    await Promise.all([...this.#supervisors.values()].map((s) => s.stop()));
    this.#supervisors.clear();
  }

  #transportOf(c: ConnectionRecord): CdcTransport {
    const fallback = this.opts.cdcTransport ?? { kind: 'cometd' };
    if (!c.cdcTransport || c.cdcTransport === fallback.kind || !this.opts.cdcTransportFor) return fallback;
    return this.opts.cdcTransportFor(c.cdcTransport);
  }

  #enqueue(connectionId: string): void {
    this.#queue.push(connectionId, () => this.#sync(connectionId));
  }

  async #sync(connectionId: string): Promise<void> {
    if (this.#stopped) return;
    let c = this.opts.store.connection(connectionId);
    let sup = this.#supervisors.get(connectionId);
    // New credentials (re-authorization) mean a new session: rebuild. So does another transport: the new
    // subscriber resumes from the checkpoint, and both transports carry the same event ids, so the switch
    // replays at most what was published but not yet checkpointed (duplicates, never a gap).
    if (sup && c && (this.#grants.get(connectionId) !== grantOf(c) || this.#transports.get(connectionId) !== this.#transportOf(c).kind)) {
      this.#supervisors.delete(connectionId);
      await sup.stop();
      sup = undefined;
      c = this.opts.store.connection(connectionId);
    }
    // Decided after the await above and before any other: ownership may have moved meanwhile.
    const objects = new Set(this.opts.store.subscriptions(connectionId).map(followedObject));
    const wanted = c !== undefined && c.status === 'active' && objects.size > 0 && (this.opts.owns?.(connectionId) ?? true);
    if (!wanted || c === undefined) {
      if (sup) {
        this.#supervisors.delete(connectionId);
        await sup.stop();
      }
      return;
    }
    if (!sup) {
      const transport = this.#transportOf(c);
      sup = new OrgSupervisor({
        connection: c,
        tokens: this.opts.tokens.source(connectionId),
        store: this.opts.store,
        publisher: this.opts.publisher,
        logger: this.opts.logger,
        pollIntervalMs: this.opts.pollIntervalMs,
        budgetShare: this.opts.budgetShare,
        ...(this.opts.metrics ? { metrics: this.opts.metrics } : {}),
        egress: this.opts.egress,
        cdcTransport: transport,
        ...(this.opts.modeRefreshMs ? { modeRefreshMs: this.opts.modeRefreshMs } : {}),
        ...(this.opts.selectionCheckMs ? { selectionCheckMs: this.opts.selectionCheckMs } : {}),
        ...(this.opts.streamingLimitRetry ? { streamingLimitRetry: this.opts.streamingLimitRetry } : {}),
        onInstanceUrl: (url) => {
          void this.opts.connections
            .updateInstanceUrl(connectionId, url)
            .catch((err: unknown) => this.opts.logger.error({ err, connectionId }, 'could not record the new instance URL'));
        },
        onReauthRequired: (reason) => {
          void this.opts.connections
            .markNeedsReauth(connectionId, reason)
            .catch((err: unknown) => this.opts.logger.error({ err, connectionId }, 'could not record needs_reauth'));
        },
      });
      this.#supervisors.set(connectionId, sup);
      this.#grants.set(connectionId, grantOf(c));
      this.#transports.set(connectionId, transport.kind);
    }
    await sup.follow(objects);
  }
}
