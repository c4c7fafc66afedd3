/**
 * The polling fallback of one org: entities not selected for CDC are read through REST.
 *
 * A cycle asks for every watched object at once: one `POST /composite` carrying a queryAll per object
 * (Salesforce allows 5 queries per composite) and the getDeleted calls that are due, so an org with up to
 * 5 watched objects and no changes costs ONE API call per cycle. Only bursts cost more: a page that came
 * back full is continued by keyset from its last row, (SystemModstamp, Id) > (s, id), never by OFFSET.
 *
 * Each object's first page re-reads an overlap window before its cursor (OVERLAP_MARGIN_MS): SystemModstamp
 * is set when a transaction starts, so a long transaction commits rows "in the past", and stamps are whole
 * seconds. Re-read rows are recognised by their SystemModstamp and values in the record memory (a second
 * version within one second is a change, not a re-read); what slips through (memory evicted, restart) is
 * re-published under the same deterministic id.
 *
 * Changes are handed to `handle` (publish; resolves once Kafka acked) and only then are the cursors
 * advanced, the snapshots remembered and `commit` called: a failed cycle (network, fail-requests,
 * slow-requests, Kafka) is retried from the same cursor, nothing is lost.
 *
 * Pacing (budget.ts): delay = min(maxInterval, max(minInterval, 86_400_000 × callsPerCycle /
 * (budgetShare × dailyLimit × pressure), failure backoff)), from the org's Sforce-Limit-Info; pressure
 * shrinks our share once the org has used more than 80 % of its limit; REQUEST_LIMIT_EXCEEDED doubles
 * the wait from 1 min. One timer per poller and no work between cycles.
 */
import type { Logger } from '../../core/log.js';
import { isKnownTransient, toError, type ForcehookError } from '../../core/errors.js';
import { delayFor, retryPolicy } from '../../core/retry.js';
import { StateMachine, type TransitionTable } from '../../core/state-machine.js';
import { parseSalesforceDate } from '../../normalize/polled-row.js';
import type { RawChange } from '../../normalize/raw-change.js';
import type { OrgSession } from '../../salesforce/session.js';
import { CycleBatch, type DeletedEntry } from './batch.js';
import { averageCalls, nextDelayMs, withJitter } from './budget.js';
import { advance, comparePosition, freshCursor, sameCursor, type PollCursor, type RowPosition } from './cursor.js';
import { describeObjects, forgetDescribe } from '../../salesforce/describe.js';
import type { ObjectFields } from '../../salesforce/fields.js';
import { completeRows } from '../../salesforce/wide-read.js';
import { sharedRecordMemory, type RecordMemory } from './memory.js';
import { knownAlive, sweepDeleted } from './sweep.js';
import {
  asQueryPage,
  CallCounter,
  composite,
  COMPOSITE_MAX_QUERIES,
  errorCodeOf,
  followPages,
  isLimitError,
  subError,
  type SubRequest,
} from '../../salesforce/rest.js';
import { OVERLAP_MARGIN_MS } from '../overlap.js';
import { cursorQuery, floorToMinute, floorToSecond, getDeletedPath, GET_DELETED_MAX_AGE_MS, queryAllPath } from '../../salesforce/soql.js';

export type { PollCursor };

/** The re-read before each cursor: see OVERLAP_MARGIN_MS. */
export const DEFAULT_OVERLAP_MS = OVERLAP_MARGIN_MS;

export interface PollHandleContext {
  /** Pass to `detectBatch` as `previousCampaignId`: the Opportunity's CampaignId before this change. */
  previousCampaignId(recordId: string): string | null | undefined;
}

export interface PollerOptions {
  session: OrgSession;
  /** API names, e.g. ['Lead', 'Invoice__c']. */
  objects: string[];
  /** Last durable cursor per object; an object without one starts at "now" (see freshCursor). */
  cursors: ReadonlyMap<string, PollCursor>;
  /** Detect and publish; resolves only once Kafka acked. Called sequentially. */
  handle(changes: RawChange[], ctx: PollHandleContext): Promise<void>;
  /** Persist the cursors that moved; called after `handle` resolved. */
  commit(cursors: Map<string, PollCursor>): Promise<void>;
  /** FORCEHOOK_POLL_INTERVAL_S in ms: the shortest interval between cycles. */
  minIntervalMs: number;
  /** The longest interval the budget may stretch to (default 1 h). */
  maxIntervalMs?: number;
  /** Share of the org's daily API limit polling may spend (default 0.1). */
  budgetShare?: number;
  logger: Logger;
  now?: () => number;
  /** Re-read window before each cursor (default 60 s). */
  overlapMs?: number;
  /** LIMIT of each query (default 2000, Salesforce's batch size). */
  pageSize?: number;
  /** Keyset continuation rounds per cycle beyond the first page (default 10). */
  maxExtraPages?: number;
  /** How much time must have passed before getDeleted is asked again (default 60 s: its granularity). */
  deletedEveryMs?: number;
  requestTimeoutMs?: number;
  memory?: RecordMemory;
  random?: () => number;
  /** An object's read failed (describe or query); it is skipped until its retry time if no retry can fix it. */
  onObjectError?(object: string, err: Error): void;
  /** An object was read again. */
  onObjectRead?(object: string): void;
  /**
   * getDeleted said its log starts after a window it was asked for (`earliestDateAvailable`): deletions
   * before it were purged. Called once the sweep of the known records found what it could (`found`
   * deletions) and they were published.
   */
  onDeleteLogPurged?(object: string, earliestDateAvailable: number, found: number): void;
}

/**
 * How long an object Salesforce refuses to read (a query too wide or too complex, a field gone) waits
 * before it is asked again: sending the same refused query every cycle only spends API calls. Its
 * describe is read again first, so a change to the object is picked up.
 */
export const REFUSED_OBJECT_RETRY = retryPolicy({ initialDelayMs: 5 * 60_000, multiplier: 2, maxDelayMs: 6 * 3_600_000, jitter: 0.1 });

export interface CycleResult {
  calls: number;
  changes: number;
  error?: Error;
}

export type PollerState = 'idle' | 'scheduled' | 'polling' | 'stopping' | 'stopped';

const TRANSITIONS: TransitionTable<PollerState> = {
  idle: ['scheduled', 'polling', 'stopped'],
  scheduled: ['polling', 'stopped'],
  polling: ['scheduled', 'idle', 'stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export interface PollerSnapshot {
  state: PollerState;
  objects: string[];
  cursors: Record<string, PollCursor>;
  callsPerCycle: number | undefined;
  consecutiveFailures: number;
  consecutiveLimitErrors: number;
  nextDelayMs: number;
  lastCycle?: { at: number; calls: number; changes: number; error?: string };
  objectErrors: Record<string, string>;
}

export interface Poller {
  start(): void;
  stop(): Promise<void>;
  /** `cursors`: where objects new to this poller start (durable positions read since it was created). */
  setObjects(objects: string[], cursors?: ReadonlyMap<string, PollCursor>): void;
  /** Resolves once no cycle is in flight: objects removed by `setObjects` are then neither published nor committed any more. */
  settled(): Promise<void>;
  pollOnce(): Promise<CycleResult>;
  nextDelayMs(): number;
  state(): PollerSnapshot;
}

interface Watched {
  /** The name the caller used: cursor and commit keys. */
  key: string;
  cursor: PollCursor;
  /** Rows at or before this position predate the subscription: remembered, not published. */
  floor?: RowPosition;
  /** Cursor as last committed, to commit only what moved. */
  committed?: PollCursor;
  /** Salesforce refused reading it: how often in a row, and when it is asked again. */
  refused?: { attempts: number; until: number };
  /** The first three characters of its ids, learnt from a row: which remembered records are its own. */
  keyPrefix?: string;
}

interface ReadPlan {
  w: Watched;
  fields: ObjectFields;
  since: number;
  afterId?: string;
  deleted?: { start: number; end: number };
}

function cursorOf(cursors: ReadonlyMap<string, PollCursor> | undefined, key: string): PollCursor | undefined {
  if (!cursors) return undefined;
  const id = key.toLowerCase();
  return cursors.get(key) ?? [...cursors].find(([k]) => k.toLowerCase() === id)?.[1];
}

export function createPoller(opts: PollerOptions): Poller {
  return new PollerImpl(opts);
}

class PollerImpl implements Poller {
  readonly #o: Required<Pick<PollerOptions, 'overlapMs' | 'pageSize' | 'maxExtraPages' | 'deletedEveryMs' | 'budgetShare' | 'maxIntervalMs'>> & PollerOptions;
  readonly #sm = new StateMachine<PollerState>('poller', TRANSITIONS, 'idle');
  readonly #now: () => number;
  readonly #memory: RecordMemory;
  readonly #log: Logger;
  #watched = new Map<string, Watched>();
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<CycleResult> | undefined;
  #callsPerCycle: number | undefined;
  #failures = 0;
  #limitErrors = 0;
  #lastCycle: PollerSnapshot['lastCycle'];
  readonly #objectErrors = new Map<string, string>();

  constructor(opts: PollerOptions) {
    this.#o = {
      ...opts,
      overlapMs: opts.overlapMs ?? DEFAULT_OVERLAP_MS,
      pageSize: opts.pageSize ?? 2000,
      maxExtraPages: opts.maxExtraPages ?? 10,
      deletedEveryMs: opts.deletedEveryMs ?? 60_000,
      budgetShare: opts.budgetShare ?? 0.1,
      maxIntervalMs: opts.maxIntervalMs ?? 3_600_000,
    };
    this.#now = opts.now ?? Date.now;
    this.#memory = opts.memory ?? sharedRecordMemory();
    this.#log = opts.logger.child({ component: 'poller', orgId: opts.session.orgId, connectionId: opts.session.connectionId });
    this.setObjects(opts.objects);
  }

  setObjects(objects: string[], cursors?: ReadonlyMap<string, PollCursor>): void {
    const next = new Map<string, Watched>();
    const now = this.#now();
    for (const key of objects) {
      const id = key.toLowerCase();
      if (next.has(id)) continue;
      const known = this.#watched.get(id);
      if (known) {
        next.set(id, known);
        continue;
      }
      const durable = cursorOf(cursors, key) ?? cursorOf(this.#o.cursors, key);
      next.set(
        id,
        durable
          ? { key, cursor: { ...durable }, committed: { ...durable } }
          : // Stamps are whole seconds: a row of the current second may be newer than `now`, so it counts.
            { key, cursor: freshCursor(now), floor: { stamp: floorToSecond(now) - 1, id: '\uffff' } },
      );
    }
    this.#watched = next;
  }

  start(): void {
    if (this.#started || this.#sm.state === 'stopped' || this.#sm.state === 'stopping') return;
    this.#started = true;
    if (this.#sm.state === 'idle') this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const s = this.#sm.state;
    if (s === 'stopped') return;
    if (s === 'polling') {
      this.#sm.to('stopping');
      await this.#inflight?.catch(() => undefined);
    }
    if (this.#sm.state !== 'stopped') this.#sm.to('stopped');
  }

  async settled(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => undefined);
  }

  async pollOnce(): Promise<CycleResult> {
    while (this.#inflight) await this.#inflight.catch(() => undefined);
    const s = this.#sm.state;
    if (s === 'stopped' || s === 'stopping') return { calls: 0, changes: 0 };
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sm.to('polling');
    const run = this.#cycle().finally(() => {
      this.#inflight = undefined;
      if (this.#sm.state !== 'polling') return;
      if (this.#started) this.#schedule(withJitter(this.nextDelayMs(), this.#o.random));
      else this.#sm.to('idle');
    });
    this.#inflight = run;
    return run;
  }

  #schedule(delay: number): void {
    this.#sm.to('scheduled');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.pollOnce();
    }, delay);
    // 2,000 pollers must not keep a draining process alive; the service holds its own handles.
    this.#timer.unref();
  }

  nextDelayMs(): number {
    return nextDelayMs({
      minIntervalMs: this.#o.minIntervalMs,
      maxIntervalMs: this.#o.maxIntervalMs,
      budgetShare: this.#o.budgetShare,
      callsPerCycle: this.#callsPerCycle ?? 1,
      usage: this.#o.session.apiUsage(),
      consecutiveFailures: this.#failures,
      consecutiveLimitErrors: this.#limitErrors,
    });
  }

  state(): PollerSnapshot {
    return {
      state: this.#sm.state,
      objects: [...this.#watched.values()].map((w) => w.key),
      cursors: Object.fromEntries([...this.#watched.values()].map((w) => [w.key, { ...w.cursor }])),
      callsPerCycle: this.#callsPerCycle,
      consecutiveFailures: this.#failures,
      consecutiveLimitErrors: this.#limitErrors,
      nextDelayMs: this.nextDelayMs(),
      ...(this.#lastCycle ? { lastCycle: this.#lastCycle } : {}),
      objectErrors: Object.fromEntries(this.#objectErrors),
    };
  }

  async #cycle(): Promise<CycleResult> {
    const polling = new CallCounter();
    const describing = new CallCounter();
    const rest = { counter: polling, ...(this.#o.requestTimeoutMs ? { timeoutMs: this.#o.requestTimeoutMs } : {}) };
    let changes = 0;
    let error: Error | undefined;
    try {
      const watched = [...this.#watched.values()];
      const described = await describeObjects(
        this.#o.session,
        watched.filter((w) => !w.refused || w.refused.until <= this.#now()).map((w) => w.key),
        { ...rest, counter: describing },
      );
      let plans: ReadPlan[] = [];
      const now = this.#now();
      for (const w of watched) {
        if (w.refused && w.refused.until > now) continue;
        const d = described.get(w.key);
        if (d?.ok) plans.push(this.#firstPlan(w, d.fields));
        else if (d) this.#objectError(w, d.error);
      }
      for (let round = 0; plans.length > 0 && round <= this.#o.maxExtraPages; round++) {
        const r = await this.#round(plans, rest);
        changes += r.changes;
        plans = r.more;
      }
      this.#failures = 0;
      this.#limitErrors = 0;
    } catch (err) {
      error = toError(err);
      if (isLimitError(err)) this.#limitErrors++;
      else this.#failures++;
      this.#log.warn({ err: error, failures: this.#failures, limitErrors: this.#limitErrors }, 'poll cycle failed; retrying from the same cursors');
    }
    this.#callsPerCycle = averageCalls(this.#callsPerCycle, polling.calls);
    const calls = polling.calls + describing.calls;
    this.#lastCycle = { at: this.#now(), calls, changes, ...(error ? { error: error.message } : {}) };
    return { calls, changes, ...(error ? { error } : {}) };
  }

  #firstPlan(w: Watched, fields: ObjectFields): ReadPlan {
    const plan: ReadPlan = { w, fields, since: w.cursor.systemModstamp - this.#o.overlapMs };
    if (fields.replicateable) {
      const now = this.#now();
      const end = floorToMinute(now);
      const oldest = floorToMinute(now - GET_DELETED_MAX_AGE_MS);
      if (w.cursor.deletedUntil < oldest) {
        this.#log.warn({ object: w.key, deletedUntil: w.cursor.deletedUntil }, 'getDeleted window older than 15 days: hard deletes before it are lost');
      }
      const start = Math.max(w.cursor.deletedUntil, oldest);
      if (end - start >= Math.max(60_000, this.#o.deletedEveryMs)) plan.deleted = { start, end };
    }
    return plan;
  }

  #objectError(w: Watched, err: ForcehookError | Error): void {
    this.#objectErrors.set(w.key, err.message);
    if (!isKnownTransient(err)) {
      const attempts = (w.refused?.attempts ?? 0) + 1;
      w.refused = { attempts, until: this.#now() + delayFor(REFUSED_OBJECT_RETRY, attempts, err, this.#o.random) };
      forgetDescribe(this.#o.session, w.key);
    }
    this.#o.onObjectError?.(w.key, err);
    this.#log.warn({ object: w.key, err }, 'object skipped this cycle');
  }

  /** One composite per 5 objects (queries + their due getDeleted), then publish, then commit. */
  async #round(plans: ReadPlan[], rest: { counter: CallCounter; timeoutMs?: number }): Promise<{ changes: number; more: ReadPlan[] }> {
    const { session } = this.#o;
    const batch = new CycleBatch(this.#memory, session.orgId, 'polling');
    const next = new Map<Watched, PollCursor>();
    const more: ReadPlan[] = [];
    const purged: { p: ReadPlan; earliest: number }[] = [];
    for (let i = 0; i < plans.length; i += COMPOSITE_MAX_QUERIES) {
      const chunk = plans.slice(i, i + COMPOSITE_MAX_QUERIES);
      const subs: SubRequest[] = [];
      chunk.forEach((p, j) => {
        const soql = cursorQuery({
          object: p.fields.object,
          fields: p.fields.chunks[0] ?? p.fields.fields,
          since: p.since,
          ...(p.afterId !== undefined ? { afterId: p.afterId } : {}),
          limit: this.#o.pageSize,
        });
        subs.push({ referenceId: `q${j}`, url: queryAllPath(session.apiVersion, soql) });
        if (p.deleted) subs.push({ referenceId: `d${j}`, url: getDeletedPath(session.apiVersion, p.fields.object, p.deleted.start, p.deleted.end) });
      });
      const res = await composite(session, subs, rest);
      for (const [j, p] of chunk.entries()) {
        let cursor = next.get(p.w) ?? p.w.cursor;
        const qErr = subError(res.get(`q${j}`), `poll ${p.fields.object}`);
        if (qErr) {
          if (isLimitError(qErr)) throw qErr;
          if (errorCodeOf(qErr) === 'INVALID_FIELD') forgetDescribe(session, p.w.key);
          this.#objectError(p.w, qErr);
        } else {
          const page = asQueryPage(res.get(`q${j}`)!.body, `poll ${p.fields.object}`);
          const rows = await followPages(session, page, rest);
          // A wide object's other fields, joined by Id; a row that changed meanwhile is read again later.
          const complete = await completeRows(session, p.fields, rows, rest);
          let last: RowPosition | undefined;
          for (const [k, row] of rows.entries()) {
            const pos = { stamp: parseSalesforceDate(row['SystemModstamp']) ?? 0, id: String(row['Id'] ?? '') };
            const emit = !p.w.floor || comparePosition(pos, p.w.floor) > 0;
            const whole = complete[k];
            if (whole) batch.addRow(p.fields.object, whole, emit, p.w.cursor.systemModstamp, p.fields.calculated);
            p.w.keyPrefix ??= pos.id.slice(0, 3) || undefined;
            cursor = advance(cursor, pos);
            last = pos;
          }
          if (rows.length >= this.#o.pageSize && last) more.push({ w: p.w, fields: p.fields, since: last.stamp, afterId: last.id });
          this.#objectErrors.delete(p.w.key);
          delete p.w.refused;
          this.#o.onObjectRead?.(p.w.key);
        }
        if (p.deleted) cursor = this.#readDeleted(p, res.get(`d${j}`), batch, cursor, purged);
        next.set(p.w, cursor);
      }
    }
    const found = new Map<ReadPlan, number>();
    for (const { p, earliest } of purged) found.set(p, await this.#sweep(p, earliest, batch, rest));
    batch.changes.sort((a, b) => a.commitTimestamp - b.commitTimestamp);
    if (batch.changes.length > 0) await this.#o.handle(batch.changes, { previousCampaignId: batch.previousCampaignId });
    batch.apply();
    for (const [w, c] of next) w.cursor = c;
    await this.#commit();
    for (const { p, earliest } of purged) this.#o.onDeleteLogPurged?.(p.w.key, earliest, found.get(p) ?? 0);
    return { changes: batch.changes.length, more };
  }

  #readDeleted(p: ReadPlan, r: Parameters<typeof subError>[0], batch: CycleBatch, cursor: PollCursor, purged: { p: ReadPlan; earliest: number }[]): PollCursor {
    const err = subError(r, `getDeleted ${p.fields.object}`);
    if (err) {
      if (isLimitError(err)) throw err;
      // The window stays where it was and is asked again next time.
      this.#log.warn({ object: p.w.key, err }, 'getDeleted failed');
      return cursor;
    }
    const body = r!.body as { deletedRecords?: DeletedEntry[]; latestDateCovered?: string; earliestDateAvailable?: string };
    // The log lost what was deleted before this: the window's start is older, so look another way.
    const earliest = parseSalesforceDate(body.earliestDateAvailable);
    if (earliest !== undefined && earliest > p.deleted!.start) purged.push({ p, earliest });
    for (const entry of body.deletedRecords ?? []) {
      const at = parseSalesforceDate(entry.deletedDate);
      if (p.w.floor && at !== undefined && at <= p.w.floor.stamp) continue;
      batch.addDeleted(p.fields.object, entry);
    }
    // Salesforce: "for safety, you must use this value for the startDate of your next call".
    const covered = parseSalesforceDate(body.latestDateCovered);
    const until = covered !== undefined ? Math.max(p.deleted!.start, Math.min(p.deleted!.end, floorToMinute(covered))) : p.deleted!.end;
    return { ...cursor, deletedUntil: until };
  }

  /**
   * The delete log was purged after this window began: check the records known alive (sweep.ts). What is
   * found joins the cycle's batch, so it is published and the window moves on together.
   */
  async #sweep(p: ReadPlan, earliest: number, batch: CycleBatch, rest: { counter: CallCounter; timeoutMs?: number }): Promise<number> {
    const { session } = this.#o;
    const ids = p.w.keyPrefix ? knownAlive(this.#memory, session.orgId, p.w.keyPrefix) : [];
    this.#log.warn(
      { object: p.w.key, earliestDateAvailable: new Date(earliest).toISOString(), known: ids.length },
      'getDeleted lost deletions (delete log purged): checking the known records',
    );
    const { deletedRows, gone } = await sweepDeleted(session, p.fields.object, ids, rest);
    let found = 0;
    for (const row of deletedRows) {
      const pos = { stamp: parseSalesforceDate(row['SystemModstamp']) ?? 0, id: String(row['Id'] ?? '') };
      if (batch.addRow(p.fields.object, row, !p.w.floor || comparePosition(pos, p.w.floor) > 0)) found++;
    }
    const deletedDate = new Date(earliest).toISOString();
    for (const id of gone) if (batch.addDeleted(p.fields.object, { id, deletedDate })) found++;
    return found;
  }

  async #commit(): Promise<void> {
    const moved = new Map<string, PollCursor>();
    for (const w of this.#watched.values()) if (!sameCursor(w.committed, w.cursor)) moved.set(w.key, { ...w.cursor });
    if (moved.size === 0) return;
    await this.#o.commit(moved);
    for (const w of this.#watched.values()) {
      const c = moved.get(w.key);
      if (c) w.committed = c;
    }
  }
}
