import net from 'node:net';
import { retryPolicy } from '../../src/core/retry.js';
import { testLogger } from '../../src/core/log.js';
import type { EventBus, StreamingAuth } from '../../src/emulator/streaming/index.js';
import { changePayload, startHarness, type Harness } from '../emulator/streaming.js';
import { ReauthRequiredError } from '../../src/salesforce/oauth.js';
import type { CdcMessage, CdcPosition, CdcSubscriberOptions, CdcSession } from '../../src/source/cdc/types.js';

export const ORG = '00D000000000001AAA';
export const ACCOUNT = '/data/AccountChangeEvent';
export const CONTACT = '/data/ContactChangeEvent';
export const FAST_RETRY = retryPolicy({ initialDelayMs: 20, multiplier: 2, maxDelayMs: 200, jitter: 0 });

/**
 * The streaming harness with tokens under the test's control, so a fake session can
 * refresh (a new token for the same org, same bus) and revoke like Salesforce would.
 */
export interface CdcHarness {
  h: Harness;
  bus: EventBus;
  grant(token: string): void;
  revoke(token: string): void;
  /** Publishes a change on the entity's channel with a commitTimestamp; returns its replayId as a string. */
  publish(entity: 'Account' | 'Contact', name?: string): string;
  close(): Promise<void>;
}

export async function startCdcHarness(opts: { connectTimeoutMs?: number } = {}): Promise<CdcHarness> {
  const tokens = new Map<string, StreamingAuth>();
  const h = await startHarness({
    authenticate(header) {
      const m = /^(?:OAuth|Bearer) (.+)$/.exec(header ?? '');
      return (m && tokens.get(m[1]!)) || null;
    },
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
  });
  const bus = h.addOrg(ORG, 'unused');
  let seq = 0;
  return {
    h,
    bus,
    grant: (token) => tokens.set(token, { orgId: ORG, userId: '005000000000001AAA' }),
    revoke(token) {
      tokens.delete(token);
      h.server.revalidate();
    },
    publish(entity, name) {
      const payload = changePayload(entity, { Name: name ?? `${entity} ${++seq}` });
      (payload['ChangeEventHeader'] as Record<string, unknown>)['commitTimestamp'] = h.clock.now + ++seq;
      return String(bus.publish(`/data/${entity}ChangeEvent`, payload).replayId);
    },
    close: () => h.close(),
  };
}

/** A session whose refresh issues a new token the harness accepts; `revokeGrant` makes refresh fail for good. */
export interface FakeSession extends CdcSession {
  refreshes: number;
  current: string;
  revokeGrant(): void;
  /** Simulates the session refreshing for someone else (a REST 401). */
  rotate(): string;
}

export function fakeSession(ch: CdcHarness, url = ch.h.url): FakeSession {
  const listeners = new Set<(t: string) => void>();
  let n = 0;
  let revoked = false;
  const issue = (): string => {
    const t = `tok-${++n}`;
    ch.grant(t);
    s.current = t;
    for (const l of listeners) l(t);
    return t;
  };
  const s: FakeSession = {
    connectionId: 'conn-1',
    orgId: ORG,
    instanceUrl: url,
    apiVersion: '59.0',
    refreshes: 0,
    current: '',
    async token() {
      return s.current || issue();
    },
    async refresh(stale) {
      if (stale !== undefined && stale !== s.current) return s.current;
      s.refreshes++;
      if (revoked) throw new ReauthRequiredError('Salesforce refused the grant (invalid_grant: expired access/refresh token)');
      return issue();
    },
    onTokenRefreshed(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    revokeGrant() {
      revoked = true;
    },
    rotate: () => issue(),
  };
  return s;
}

/** What the downstream saw: handled messages in order, and the checkpoints as a store would keep them. */
export interface Sink {
  handled: CdcMessage[];
  /** replayIds whose `handle` call had resolved, per channel, when each commit was made. */
  commits: Array<Map<string, CdcPosition>>;
  store: Map<string, CdcPosition>;
  /** Commits that named a position `handle` had not acknowledged yet (must stay empty). */
  prematureCommits: string[];
  gaps: Array<{ channel: string; since: CdcPosition | undefined }>;
  handle(batch: CdcMessage[]): Promise<void>;
  commit(positions: Map<string, CdcPosition>): Promise<void>;
  onGap(channel: string, since: CdcPosition | undefined): Promise<void>;
  ids(channel?: string): string[];
}

export function sink(opts: { failFirst?: number; gate?: () => Promise<void>; onGap?: () => Promise<void> | void } = {}): Sink {
  let calls = 0;
  const acked = new Set<string>();
  const s: Sink = {
    handled: [],
    commits: [],
    store: new Map(),
    prematureCommits: [],
    gaps: [],
    async handle(batch) {
      calls++;
      if (opts.gate) await opts.gate();
      if (calls <= (opts.failFirst ?? 0)) throw new Error(`kafka unavailable (attempt ${calls})`);
      s.handled.push(...batch);
      for (const m of batch) acked.add(`${m.channel}#${m.replayId}`);
    },
    async commit(positions) {
      for (const [ch, p] of positions) if (!acked.has(`${ch}#${p.replayId}`)) s.prematureCommits.push(`${ch}#${p.replayId}`);
      s.commits.push(new Map(positions));
      for (const [ch, p] of positions) s.store.set(ch, p);
    },
    async onGap(channel, since) {
      s.gaps.push({ channel, since });
      await opts.onGap?.();
    },
    ids: (channel) => s.handled.filter((m) => channel === undefined || m.channel === channel).map((m) => m.replayId),
  };
  return s;
}

export function options(session: CdcSession, k: Sink, extra: Partial<CdcSubscriberOptions> = {}): CdcSubscriberOptions {
  return {
    session,
    channels: [ACCOUNT],
    positions: new Map(),
    handle: (b) => k.handle(b),
    commit: (p) => k.commit(p),
    onGap: (c, s) => k.onGap(c, s),
    logger: testLogger(),
    retry: FAST_RETRY,
    ...extra,
  };
}

/**
 * A TCP proxy that can go silent on the connections it already carries, as a
 * half-open connection does: no error, no data. New connections still pass.
 */
export interface TestProxy {
  url: string;
  /** Existing connections stop carrying data, without an error (half-open). */
  freeze(): void;
  /** Every connection is reset and new ones are refused until `restore` (a network outage). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function silentProxy(target: string): Promise<TestProxy> {
  const { hostname, port } = new URL(target);
  const live = new Set<{ a: net.Socket; b: net.Socket }>();
  let refusing = false;
  const server = net.createServer((a) => {
    if (refusing) {
      a.resetAndDestroy();
      return;
    }
    const b = net.connect(Number(port), hostname);
    const pair = { a, b };
    live.add(pair);
    a.pipe(b);
    b.pipe(a);
    const end = () => {
      live.delete(pair);
      a.destroy();
      b.destroy();
    };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as net.AddressInfo;
  const frozen: net.Socket[] = [];
  return {
    url: `http://127.0.0.1:${addr.port}`,
    freeze() {
      for (const { a, b } of live) {
        a.unpipe(b);
        b.unpipe(a);
        frozen.push(a, b);
      }
      live.clear();
    },
    cut() {
      refusing = true;
      for (const { a, b } of [...live]) {
        a.resetAndDestroy();
        b.destroy();
      }
      live.clear();
    },
    restore() {
      refusing = false;
    },
    async close() {
      for (const s of frozen) s.destroy();
      for (const { a, b } of live) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
