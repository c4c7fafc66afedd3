import type { SalesforceEgress } from '../net/salesforce-egress.js';
import { isReauthRequired, isRetriable } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { delayFor, retry, retryPolicy, type RetryPolicy } from '../core/retry.js';
import { StateMachine } from '../core/state-machine.js';
import { createNormalizer } from '../normalize/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { Publisher } from '../publish/publisher.js';
import type { ConnectionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { createCdcSubscriber, type CdcTransport } from './cdc/index.js';
import type { CdcMessage, CdcPosition, CdcSubscriber } from './cdc/types.js';
import type { StreamingLimit } from './cdc/verdict.js';
import { channelFor, objectForChangeEvent } from '../salesforce/channels.js';
import { SUPERVISOR_TRANSITIONS, type SupervisorState } from './lifecycle.js';
import { cdcSelectedObjects, readStreamingAccess, type MissingPermission } from '../salesforce/cdc-selection.js';
import { changesOfCdcBatch, gapStart, reconcileWindow, type OrgReads } from './gaps.js';
import { createIngest, type IngestStage } from './ingest.js';
import { createPoller, fetchRecords, reconcilePages, type Poller } from './polling/index.js';
import { OverflowReads } from './overflow.js';
import { cdcStart, commitCdc, commitPoll, pollStart } from './positions.js';
import { OrgSession } from '../salesforce/session.js';
import { Sightings } from './sightings.js';
import type { ConnectionWarning, ObjectStatus } from './status.js';
import { ObjectWarnings } from './object-warnings.js';
import type { TokenSource } from '../salesforce/tokens.js';

export interface SupervisorOptions {
  connection: ConnectionRecord;
  /** The org's tokens as the service keeps them (salesforce/tokens.ts). */
  tokens: TokenSource;
  store: ServiceStore;
  publisher: Publisher;
  logger: Logger;
  metrics?: Metrics;
  pollIntervalMs: number;
  budgetShare: number;
  /** How often the CDC selection is read again. @default 10 min */
  modeRefreshMs?: number;
  /**
   * While objects are streamed: how often the CDC selection alone is read (one Tooling query) to notice an
   * entity taken out of it, whose channel just goes quiet. @default 1 min
   */
  selectionCheckMs?: number;
  /** When an org's streaming allocation is spent: how long its objects are polled before streaming is tried again. */
  streamingLimitRetry?: RetryPolicy;
  /** Every call to the org goes through it. */
  egress: SalesforceEgress;
  /** How CDC is followed. @default cometd */
  cdcTransport?: CdcTransport;
  /** The grant is gone; the owner records it and stops this supervisor. */
  onReauthRequired(reason: string): void;
  /** The org moved to another instance (a refresh said so); the owner persists it on the connection. */
  onInstanceUrl?(instanceUrl: string): void;
  now?: () => number;
}

/**
 * An org-wide streaming allocation is spent: the org's objects are polled until
 * `retryAt`, then streaming is tried again (and the wait doubles if it is refused again).
 */
interface StreamingLimited {
  limit: StreamingLimit;
  error: string;
  since: number;
  attempts: number;
  retryAt: number;
}

/** Five minutes, doubling, at most an hour: the delivery allocation is a rolling 24 h, the client limit frees as others leave. */
export const DEFAULT_STREAMING_LIMIT_RETRY = retryPolicy({ maxAttempts: 1, initialDelayMs: 300_000, multiplier: 2, maxDelayMs: 3_600_000, jitter: 0.2 });

const LIMIT_WARNINGS: Record<StreamingLimit, { code: string; what: string }> = {
  event_allocation: { code: 'event_allocation_exhausted', what: "the org's daily event delivery allocation is used up" },
  concurrent_clients: { code: 'streaming_client_limit', what: "the org's concurrent Streaming API client limit is reached" },
};

const PERMISSION_WARNINGS: Record<MissingPermission, { code: string; message: string }> = {
  view_setup: {
    code: 'missing_permission_view_setup',
    message:
      'The connecting user lacks the "View Setup and Configuration" permission, so the org\'s Change Data Capture selection cannot be read (Tooling API, PlatformEventChannelMember). Objects are followed by polling until the permission is granted.',
  },
  view_all_data: {
    code: 'missing_permission_view_all_data',
    message:
      'The connecting user lacks the "View All Data" permission, so Salesforce does not deliver change events to it. Objects are followed by polling until the permission is granted.',
  },
};

/** How Salesforce refuses a change event channel to a user without the permission. */
const CDC_PERMISSION_REFUSAL = /View All Data/i;

/** CDC events name entities by their API name; our objects may be written in any case. */
const lc = (s: string) => s.toLowerCase();

/** The object a change event is about, from its header (the channel may be /data/ChangeEvents). */
function entityOf(m: CdcMessage): string | undefined {
  const name = (m.data as { payload?: { ChangeEventHeader?: { entityName?: unknown } } } | null)?.payload?.ChangeEventHeader?.entityName;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Follows one org: reads its CDC selection, decides each object's mode, and wires
 * the stream and the poller to the ingest stage (ingest.ts), which turns their
 * changes into events on Kafka. Start positions and checkpoints are in
 * positions.ts, completing what the stream does not carry in gaps.ts. Positions
 * (replay ids, poll cursors) are checkpointed only after Kafka acknowledged the
 * events they cover.
 */
export class OrgSupervisor {
  readonly session: OrgSession;
  readonly #opts: SupervisorOptions;
  readonly #log: Logger;
  readonly #state: StateMachine<SupervisorState>;
  /** Canonical object name by lower-case name. */
  #objects = new Map<string, string>();
  #cdcSelected = new Set<string>();
  #cdc: CdcSubscriber | undefined;
  #poller: Poller | undefined;
  #modes = new Map<string, 'cdc' | 'polling'>();
  /**
   * Objects polled only because streaming was refused (an allocation, a permission) while their entity stayed
   * selected: the stream kept their change events, so streaming resumes from its checkpoint (positions.ts).
   */
  readonly #replayable = new Set<string>();
  #refreshTimer: NodeJS.Timeout | undefined;
  #selectionTimer: NodeJS.Timeout | undefined;
  #limited: StreamingLimited | undefined;
  /** Permissions the connecting user lacks, since when: read with the selection, so they change only at a refresh. */
  readonly #missing = new Map<MissingPermission, number>();
  #limitTimer: NodeJS.Timeout | undefined;
  /** Objects whose delete log Salesforce purged inside a window polling read: when, and what the sweep found. */
  readonly #purgedLogs = new Map<string, { earliest: number; found: number; since: number }>();
  #resolving: Promise<void> | undefined;
  readonly #ctx: { orgId: string; connectionId: string };
  /** Change events published, so that a reconcile reading the same change gives it the same id. */
  readonly #sightings: Sightings;
  readonly #ingest: IngestStage;
  readonly #normalizer: ReturnType<typeof createNormalizer>;
  readonly #reads: OrgReads;
  /** Objects Salesforce refuses to read for us (too wide, too complex): shown as warnings. */
  readonly #refused: ObjectWarnings;
  /** Overflows being read back beside the stream, resumed from their checkpoints at start. */
  readonly #overflows: OverflowReads;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    const { connection: c } = opts;
    this.#ctx = { orgId: c.orgId, connectionId: c.id };
    this.#sightings = new Sightings(c.id);
    this.#refused = new ObjectWarnings(() => this.#now());
    this.#log = opts.logger.child({ connectionId: c.id, orgId: c.orgId });
    this.#state = new StateMachine('org-supervisor', SUPERVISOR_TRANSITIONS, 'idle');
    this.#state.onChange((to, from) => this.#log.info({ from, to }, 'org subscriber state'));
    this.session = new OrgSession({
      connectionId: c.id,
      orgId: c.orgId,
      instanceUrl: c.instanceUrl,
      tokens: opts.tokens,
      logger: this.#log,
      egress: opts.egress,
      onReauthRequired: (reason) => this.#needsReauth(reason),
      // REST calls build their URLs from the session, and the stream is rebuilt on the new token's
      // endpoint; what remains is to remember the instance for restarts and other instances.
      onInstanceUrl: (url) => opts.onInstanceUrl?.(url),
    });
    this.#normalizer = createNormalizer(this.#ctx);
    this.#ingest = createIngest({
      ...this.#ctx,
      publisher: opts.publisher,
      sightings: this.#sightings,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      now: () => this.#now(),
    });
    this.#reads = {
      pages: (object, window, from) => reconcilePages(this.session, object, window, { ...(from ? { from } : {}), now: () => this.#now() }),
      fetchRecords: (object, ids) => fetchRecords(this.session, object, ids),
    };
    this.#overflows = new OverflowReads({
      connectionId: c.id,
      store: opts.store,
      pages: this.#reads.pages,
      ingest: (changes) => this.#ingest.ingest(changes),
      logger: this.#log,
      now: () => this.#now(),
    });
  }

  state(): SupervisorState {
    return this.#state.state;
  }

  /**
   * What the API shows: `running` only once every streamed channel is live, else the
   * stream's own state (`connecting`, `reconnecting`, `paused`). A client that sees
   * `running` can rely on the next change arriving in its transaction's order; before,
   * a change may only be caught up through REST, object by object.
   */
  view(): string {
    const s = this.#state.state;
    if (s !== 'running' || !this.#cdc || ![...this.#modes.values()].includes('cdc')) return s;
    const cdc = this.#cdc.state();
    return cdc === 'subscribed' ? s : cdc;
  }

  objectModes(): ObjectStatus[] {
    return [...this.#objects.values()].map((object) => {
      const at = this.#ingest.lastEventAt(object);
      return { object, mode: this.#modes.get(lc(object)) ?? 'polling', lastEventAt: at === undefined ? null : new Date(at).toISOString() };
    });
  }

  warnings(): ConnectionWarning[] {
    const out: ConnectionWarning[] = [...this.#missing].map(([p, since]) => ({ ...PERMISSION_WARNINGS[p], since: new Date(since).toISOString() }));
    out.push(...this.#refused.list());
    for (const [object, p] of this.#purgedLogs) {
      out.push({
        code: 'delete_log_purged',
        message: `Salesforce purged the ${object} delete log (getDeleted starts at ${new Date(p.earliest).toISOString()}, after the window being read): deletions before it were found by checking the records the service had read (${p.found} found); a record created and deleted without the service reading it cannot be reported.`,
        since: new Date(p.since).toISOString(),
      });
    }
    const l = this.#limited;
    if (!l) return out;
    const { code, what } = LIMIT_WARNINGS[l.limit];
    const next = l.retryAt > this.#now() ? `; streaming is tried again at ${new Date(l.retryAt).toISOString()}` : '; streaming is being tried again';
    out.push({
      code,
      message: `Salesforce refused streaming (${l.error}): ${what}. Objects are followed by polling meanwhile${next}.`,
      since: new Date(l.since).toISOString(),
    });
    return out;
  }

  /** The permissions the connecting user lacks for streaming, as last read. */
  missingPermissions(): MissingPermission[] {
    return [...this.#missing.keys()];
  }

  /** The streaming limit the org is held back by, if any (for metrics). */
  streamingLimited(): StreamingLimit | undefined {
    return this.#limited?.limit;
  }

  /**
   * Per-org lag, as of the latest publish: Kafka ack time minus the commit time of the newest event
   * in it (how far the processed position trailed the org). Undefined until something was published.
   */
  lag(): { commitTimestamp: number; lagMs: number } | undefined {
    return this.#ingest.lag();
  }

  /** Sets what to follow and (re)starts the streams; safe to call repeatedly. */
  async follow(objects: Iterable<string>): Promise<void> {
    if (this.#state.state === 'stopping' || this.#state.state === 'stopped' || this.#state.state === 'needs_reauth') return;
    const next = new Map([...objects].map((o) => [lc(o), o]));
    // Asked again for the same objects (a subscription deleted anywhere re-checks every org): reading
    // the CDC selection again would cost each org an API call for nothing; the refresh timer reads it.
    if (this.#state.state !== 'idle' && next.size === this.#objects.size && [...next.keys()].every((k) => this.#objects.has(k))) return;
    if (this.#state.state === 'idle') this.#overflows.resume();
    this.#objects = next;
    await this.#resolve(true);
    this.#refreshTimer ??= setInterval(() => void this.#resolve(true), this.#opts.modeRefreshMs ?? 600_000).unref();
    this.#selectionTimer ??= setInterval(() => void this.#checkSelection(), this.#opts.selectionCheckMs ?? 60_000).unref();
  }

  /**
   * Salesforce says nothing on a live subscription when its entity leaves the CDC selection: the channel
   * goes quiet (a later re-subscribe is refused). Reading the selection is the signal: while something is
   * streamed, one Tooling query a minute, and a change of what is selected applies the modes at once.
   */
  async #checkSelection(): Promise<void> {
    if (this.#state.state !== 'running' || this.#missing.has('view_setup')) return;
    const streamed = [...this.#modes].filter(([, m]) => m === 'cdc').map(([k]) => k);
    if (streamed.length === 0) return;
    let selected: Set<string>;
    try {
      selected = await cdcSelectedObjects(this.session.jsforce());
    } catch (err) {
      if (!this.#isReauth(err)) this.#log.debug({ err: (err as Error).message }, 'could not check the CDC selection; the next check or refresh will');
      return;
    }
    if (this.#state.state !== 'running') return;
    const changed = [...this.#objects.keys()].some((k) => selected.has(k) !== this.#cdcSelected.has(k));
    if (!changed) return;
    this.#log.info({ deselected: streamed.filter((k) => !selected.has(k)) }, 'the CDC selection changed');
    this.#cdcSelected = selected;
    await this.#resolve(false);
  }

  async stop(): Promise<void> {
    if (this.#state.state === 'stopped' || this.#state.state === 'stopping') return;
    this.#state.to('stopping');
    clearInterval(this.#refreshTimer);
    clearInterval(this.#selectionTimer);
    clearTimeout(this.#limitTimer);
    await this.#resolving?.catch(() => undefined);
    await Promise.all([this.#cdc?.stop(), this.#poller?.stop(), this.#overflows.stop()]);
    this.session.close();
    this.#state.to('stopped');
  }

  #resolve(readSelection: boolean): Promise<void> {
    const run = async () => {
      if (this.#state.state === 'stopping' || this.#state.state === 'stopped' || this.#state.state === 'needs_reauth') return;
      this.#state.to('resolving');
      if (readSelection) {
        try {
          const access = await retry(retryPolicy({ maxAttempts: 3, initialDelayMs: 500 }), () => readStreamingAccess(this.session.jsforce()));
          this.#setMissing(access.missing);
          // A selection that cannot be read is unknown: an entity taken out of it would go silent, so poll.
          this.#cdcSelected = access.selection ?? new Set();
        } catch (err) {
          if (this.#isReauth(err)) return;
          // Without the selection, keep what we had; on first start that means polling, which loses nothing.
          this.#log.warn({ err: (err as Error).message }, 'could not read the CDC selection; keeping current modes');
        }
      }
      if (this.#state.state !== 'resolving') return;
      await this.#apply();
      if (this.#state.state === 'resolving') this.#state.to('running');
    };
    const p = (this.#resolving ?? Promise.resolve()).then(run, run);
    this.#resolving = p;
    return p;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  /**
   * Keeps what the org said at this read until the next one: a mode changes only when the
   * permission does, never between refreshes while it stays missing.
   */
  #setMissing(missing: Set<MissingPermission>): void {
    for (const p of missing) {
      if (this.#missing.has(p)) continue;
      this.#missing.set(p, this.#now());
      this.#log.warn({ permission: p }, 'the connecting user lacks a permission streaming needs: polling');
    }
    for (const p of [...this.#missing.keys()]) {
      if (missing.has(p)) continue;
      this.#missing.delete(p);
      this.#log.info({ permission: p }, 'permission granted again');
    }
  }

  /**
   * While an allocation is spent or the user may not receive change events, nothing is streamed;
   * the subscriber is stopped (its positions committed), and polling resumes from them.
   */
  #streamingAllowed(): boolean {
    if (this.#missing.has('view_all_data')) return false;
    return this.#limited === undefined || this.#limited.retryAt <= this.#now();
  }

  async #apply(): Promise<void> {
    const streaming = this.#streamingAllowed();
    if (!streaming && this.#cdc) {
      const cdc = this.#cdc;
      this.#cdc = undefined;
      await cdc.stop();
    }
    const next = new Map<string, 'cdc' | 'polling'>();
    for (const key of this.#objects.keys()) next.set(key, streaming && this.#cdcSelected.has(key) ? 'cdc' : 'polling');
    const cdcObjects = [...next].filter(([, m]) => m === 'cdc').map(([k]) => this.#objects.get(k)!);
    const pollObjects = [...next].filter(([, m]) => m === 'polling').map(([k]) => this.#objects.get(k)!);
    for (const [key, mode] of next) {
      const from = this.#modes.get(key);
      if (mode === 'polling' && !this.#cdcSelected.has(key)) this.#replayable.delete(key);
      else if (mode === 'polling' && from === 'cdc') this.#replayable.add(key);
      if (from !== mode) this.#log.info({ object: this.#objects.get(key), from: from ?? null, to: mode }, 'object mode');
      if (mode === 'cdc') this.#sightings.streaming(key);
      else this.#sightings.stopped(key);
    }
    for (const key of this.#modes.keys()) if (!next.has(key)) this.#sightings.stopped(key);
    this.#modes = next;
    // Polling first: an object leaving it must be out of the poller, its last cycle settled, before the
    // stream's start takes over its poll position (positions.ts), so no late poll commit brings it back.
    await this.#applyPolling(pollObjects);
    await this.#applyCdc(cdcObjects);
  }

  async #applyCdc(objects: string[]): Promise<void> {
    const channels = objects.map(channelFor);
    // An object polled until now is read back from the margin before its poll position once its channel
    // is live (the subscriber's catch-up), so changes made during the read stream in meanwhile.
    const { positions, catchUp } = await cdcStart(this.#opts.store, this.#ctx.connectionId, objects, this.#now(), this.#replayable);
    for (const o of objects) this.#replayable.delete(lc(o));
    // Both catch-ups run only once the channel is subscribed (the subscriber's gap
    // path), so a change made during the read streams in instead of falling between.
    await this.#startCdc(channels, positions, catchUp);
  }

  async #startCdc(channels: string[], positions: Map<string, CdcPosition>, catchUp: Map<string, CdcPosition>): Promise<void> {
    if (this.#cdc) {
      await this.#cdc.setChannels(channels, positions, catchUp);
      return;
    }
    if (channels.length === 0) return;
    this.#cdc = createCdcSubscriber({
      session: this.session,
      ...(this.#opts.cdcTransport ? { transport: this.#opts.cdcTransport } : {}),
      channels,
      positions,
      catchUp,
      logger: this.#log,
      handle: async (batch) => {
        // A batch is retried until it is handed off (dropping it would lose its changes); what Salesforce
        // refuses to complete it with is shown on the connection meanwhile.
        const objects = new Set(batch.map(entityOf).filter((o): o is string => !!o));
        try {
          await this.#ingest.ingest(
            await changesOfCdcBatch(batch, {
              normalizer: this.#normalizer,
              reads: this.#reads,
              overflow: (object, sinceMs) => this.#overflows.add(object, sinceMs),
              logger: this.#log,
            }),
          );
          for (const o of objects) this.#refused.succeeded(o);
        } catch (err) {
          for (const o of objects) this.#refused.failed(o, err);
          throw err;
        }
      },
      commit: (moved) => commitCdc(this.#opts.store, this.#ctx.connectionId, moved, this.#now()),
      onGap: async (channel, since) => {
        const object = objectForChangeEvent(channel.replace(/^\/data\//, ''));
        if (!object || !since) return;
        if (since.replayId === '-1') {
          this.#log.info({ channel, since: new Date(since.commitTimestamp).toISOString() }, 'catching up through REST what the stream at -1 cannot replay');
        } else {
          this.#sightings.interrupted(object);
          this.#log.warn({ channel, since: since.replayId }, 'replay window lost: reconciling through REST');
        }
        try {
          await this.#reconcile(object, gapStart(since));
          this.#refused.succeeded(object);
        } catch (err) {
          this.#refused.failed(object, err);
          throw err;
        }
      },
      onChannelRejected: (channel, error) => {
        const object = objectForChangeEvent(channel.replace(/^\/data\//, ''));
        this.#log.warn({ channel, error }, 'CDC channel refused: polling this object instead');
        if (CDC_PERMISSION_REFUSAL.test(error)) {
          // The permission went between the last read and this subscribe: poll every object until
          // a refresh reads it back, instead of refusing channel after channel.
          if (!this.#missing.has('view_all_data')) this.#missing.set('view_all_data', this.#now());
          void this.#resolve(false);
        } else if (object) {
          this.#cdcSelected.delete(lc(object));
          void this.#resolve(false);
        }
      },
      onLimited: (limit, error) => this.#onStreamingLimited(limit, error),
      onStateChange: (state, info) => {
        // Whatever was streamed before a break cannot prove what a reconcile after it reads.
        if (state === 'reconnecting' || state === 'paused' || state === 'needs_reauth' || state === 'stopped') this.#sightings.interrupted();
        // Streaming works again: the limit is behind us.
        if (state === 'subscribed' && this.#limited) {
          this.#log.info({ limit: this.#limited.limit }, 'streaming allowed again');
          this.#limited = undefined;
          clearTimeout(this.#limitTimer);
        }
        if (state === 'reconnecting') {
          this.#opts.metrics?.streamingReconnects.inc({ connection_id: this.#ctx.connectionId, org_id: this.#ctx.orgId, reason: info.reason });
        }
        if (state === 'needs_reauth') this.#needsReauth(info.error ?? info.reason);
      },
    });
    await this.#cdc.start();
  }

  async #applyPolling(objects: string[]): Promise<void> {
    const cursors = await pollStart(this.#opts.store, this.#ctx.connectionId, objects, this.#now());
    if (this.#poller) {
      // Objects new to the running poller (e.g. streamed until now) start from their durable positions.
      this.#poller.setObjects(objects, cursors);
      await this.#poller.settled();
      return;
    }
    if (objects.length === 0) return;
    this.#poller = createPoller({
      session: this.session,
      objects,
      cursors,
      logger: this.#log,
      minIntervalMs: this.#opts.pollIntervalMs,
      budgetShare: this.#opts.budgetShare,
      handle: (changes, ctx) => this.#ingest.ingest(changes, ctx.previousCampaignId.bind(ctx)),
      onObjectError: (object, err) => this.#refused.failed(object, err),
      onObjectRead: (object) => this.#refused.succeeded(object),
      commit: (moved) => commitPoll(this.#opts.store, this.#ctx.connectionId, moved, this.#now()),
      onDeleteLogPurged: (object, earliest, found) => this.#purgedLogs.set(object, { earliest, found, since: this.#now() }),
      ...(this.#opts.now ? { now: this.#opts.now } : {}),
    });
    this.#poller.start();
  }

  /**
   * Streaming was refused for the whole org: no reconnect loop. The objects are polled
   * from where the stream stopped until the retry time; then a new subscriber resumes
   * every channel from its checkpoint (Salesforce keeps the events 72 h), so what the
   * polling already published comes again under the same ids where they can be proven
   * the same change, and nothing is lost either way.
   */
  #onStreamingLimited(limit: StreamingLimit, error: string): void {
    const now = this.#now();
    const attempts = (this.#limited?.attempts ?? 0) + 1;
    const delay = delayFor(this.#opts.streamingLimitRetry ?? DEFAULT_STREAMING_LIMIT_RETRY, attempts);
    this.#limited = { limit, error, since: this.#limited?.since ?? now, attempts, retryAt: now + delay };
    this.#opts.metrics?.streamingLimited.inc({ connection_id: this.#ctx.connectionId, org_id: this.#ctx.orgId, limit });
    this.#log.warn(
      { limit, error, retryInMs: delay, attempts },
      'Salesforce refused streaming for the org; polling its objects until streaming is tried again',
    );
    clearTimeout(this.#limitTimer);
    this.#limitTimer = setTimeout(() => void this.#resolve(false), delay).unref();
    void this.#resolve(false);
  }

  async #reconcile(object: string, sinceMs: number): Promise<void> {
    const changes = await reconcileWindow(this.#reads, object, sinceMs, (page) => this.#ingest.ingest(page));
    this.#log.info({ object, since: new Date(sinceMs).toISOString(), changes }, 'gap reconciled');
  }

  #isReauth(err: unknown): boolean {
    const reauth = isReauthRequired(err);
    if (reauth) this.#needsReauth((err as Error).message);
    return reauth && !isRetriable(err);
  }

  #needsReauth(reason: string): void {
    if (this.#state.state === 'needs_reauth' || this.#state.state === 'stopping' || this.#state.state === 'stopped') return;
    this.#state.to('needs_reauth');
    clearInterval(this.#refreshTimer);
    clearInterval(this.#selectionTimer);
    clearTimeout(this.#limitTimer);
    void Promise.all([this.#cdc?.stop(), this.#poller?.stop(), this.#overflows.stop()]).catch(() => undefined);
    this.#opts.onReauthRequired(reason);
  }
}
