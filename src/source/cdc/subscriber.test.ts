import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCdcSubscriber } from './index.js';
import { ACCOUNT, CONTACT, ORG, fakeSession, options, silentProxy, sink, startCdcHarness, type CdcHarness } from '../../../testkit/source/cdc.js';
import type { CdcState, CdcSubscriber } from './types.js';
import { waitUntil } from '../../../testkit/wait.js';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CDC subscriber against the emulator streaming server', () => {
  let ch: CdcHarness;
  let subs: CdcSubscriber[];
  beforeEach(async () => {
    ch = await startCdcHarness();
    subs = [];
  });
  afterEach(async () => {
    await Promise.all(subs.map((s) => s.stop()));
    await ch.close();
  });
  const track = (s: CdcSubscriber) => (subs.push(s), s);
  const subscribed = (s: CdcSubscriber, what = 'subscribed') => waitUntil(() => s.state() === 'subscribed', 5000, what);

  it('delivers events in order and checkpoints a position only after handle resolved for it', async () => {
    let release: () => void = () => {};
    let gate = Promise.resolve();
    const k = sink({ gate: () => gate });
    const s = track(createCdcSubscriber(options(fakeSession(ch), k)));
    await s.start();
    await subscribed(s);

    gate = new Promise((r) => (release = r));
    const ids = [1, 2, 3, 4, 5].map(() => ch.publish('Account'));
    await settle(300);
    // handle is stuck on the first batch: nothing may be checkpointed yet.
    expect(k.store.size).toBe(0);
    expect(s.positions().size).toBe(0);
    release();
    gate = Promise.resolve();
    await waitUntil(() => k.store.get(ACCOUNT)?.replayId === ids[4], 5000, 'checkpoint of the last event');

    expect(k.ids()).toEqual(ids);
    expect(k.prematureCommits).toEqual([]);
    expect(k.store.get(ACCOUNT)!.commitTimestamp).toBeGreaterThan(0);
    expect(s.positions().get(ACCOUNT)?.replayId).toBe(ids[4]);
    expect(k.handled[0]!.data).toMatchObject({ payload: { ChangeEventHeader: { entityName: 'Account' } }, event: { replayId: Number(ids[0]) } });
  });

  it('a handle that fails 3 times and then succeeds loses nothing and reorders nothing', async () => {
    const k = sink({ failFirst: 3 });
    const s = track(createCdcSubscriber(options(fakeSession(ch), k)));
    await s.start();
    await subscribed(s);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(ch.publish('Account'));
      if (i % 5 === 0) await settle(15);
    }
    await waitUntil(() => k.handled.length >= 20, 5000, 'all events');
    await settle(100);
    expect(k.ids()).toEqual(ids);
    await waitUntil(() => k.store.get(ACCOUNT)?.replayId === ids[19], 5000, 'final checkpoint');
    expect(k.prematureCommits).toEqual([]);
  });

  it('a restart from the committed positions resumes right after them: nothing lost, nothing before them again', async () => {
    const k1 = sink();
    const session = fakeSession(ch);
    const s1 = createCdcSubscriber(options(session, k1));
    await s1.start();
    await subscribed(s1);
    const first = [1, 2, 3].map(() => ch.publish('Account'));
    await waitUntil(() => k1.store.get(ACCOUNT)?.replayId === first[2], 5000, 'first checkpoint');
    await s1.stop();
    expect(s1.state()).toBe('stopped');

    const whileDown = [1, 2, 3, 4].map(() => ch.publish('Account'));
    const k2 = sink();
    const s2 = track(createCdcSubscriber(options(session, k2, { positions: new Map(k1.store) })));
    await s2.start();
    await waitUntil(() => k2.handled.length >= 4, 5000, 'events published while down');
    const after = ch.publish('Account');
    await waitUntil(() => k2.handled.length >= 5, 5000, 'a new event');
    expect(k2.ids()).toEqual([...whileDown, after]);
    expect(k1.ids()).toEqual(first);
  });

  it('a restart from a lagging checkpoint re-delivers only what was not committed', async () => {
    const session = fakeSession(ch);
    const ids = [1, 2, 3, 4, 5, 6].map(() => ch.publish('Account'));
    // Processed up to ids[5] but the checkpoint store only ever got ids[2].
    const k = sink();
    const s = track(createCdcSubscriber(options(session, k, { positions: new Map([[ACCOUNT, { replayId: ids[2]!, commitTimestamp: 1 }]]) })));
    await s.start();
    await waitUntil(() => k.handled.length >= 3, 5000, 'uncommitted events');
    await settle(100);
    expect(k.ids()).toEqual(ids.slice(3));
  });

  it('an expired replayId (expire-replay): resubscribes at -1, then onGap gets the last position while new events stream in', async () => {
    const session = fakeSession(ch);
    const old = ch.publish('Account');
    ch.bus.expireAll();
    let duringGap: string | undefined;
    const k = sink({
      onGap: async () => {
        // The caller reconciles now; a change made meanwhile must reach us through the stream.
        duringGap = ch.publish('Account', 'during reconcile');
      },
    });
    const s = track(createCdcSubscriber(options(session, k, { positions: new Map([[ACCOUNT, { replayId: old, commitTimestamp: 42 }]]) })));
    await s.start();
    await subscribed(s);
    await waitUntil(() => k.gaps.length === 1 && duringGap !== undefined, 5000, 'onGap');
    expect(k.gaps[0]).toEqual({ channel: ACCOUNT, since: { replayId: old, commitTimestamp: 42 } });
    await waitUntil(() => k.handled.length === 1, 5000, 'the event published during the reconcile');
    expect(k.ids()).toEqual([duringGap]);
    const next = ch.publish('Account');
    await waitUntil(() => k.handled.length === 2, 5000, 'next event');
    expect(k.ids()).toEqual([duringGap, next]);
    expect(k.gaps).toHaveLength(1);
  });

  it('catchUp: a channel without a position is reconciled from the given time only once subscribed; with a position it is not', async () => {
    const session = fakeSession(ch);
    let duringCatchUp: string | undefined;
    const k = sink({
      onGap: async () => {
        // A change committed while the caller reads back must stream in: the subscribe already took effect.
        duringCatchUp = ch.publish('Account', 'during catch-up');
      },
    });
    const since = { replayId: '-1', commitTimestamp: 1_000 };
    const s = track(
      createCdcSubscriber(
        options(session, k, {
          channels: [ACCOUNT, CONTACT],
          catchUp: new Map([
            [ACCOUNT, since],
            [CONTACT, since],
          ]),
          positions: new Map([[CONTACT, { replayId: ch.publish('Contact'), commitTimestamp: 5 }]]),
        }),
      ),
    );
    await s.start();
    await waitUntil(() => k.gaps.length === 1 && duringCatchUp !== undefined, 5000, 'the catch-up');
    expect(k.gaps).toEqual([{ channel: ACCOUNT, since }]);
    await waitUntil(() => k.ids().includes(duringCatchUp!), 5000, 'the change made during the catch-up, streamed');
    await settle(200);
    expect(k.gaps).toHaveLength(1);
  });

  it('a replayId older than 72 h (clock moved) is a gap too; a re-handshake before any new event reports the same gap again', async () => {
    const session = fakeSession(ch);
    const old = ch.publish('Account');
    ch.h.clock.now += 72 * 3600 * 1000 + 1;
    const k = sink();
    const s = track(createCdcSubscriber(options(session, k, { positions: new Map([[ACCOUNT, { replayId: old, commitTimestamp: 7 }]]) })));
    await s.start();
    await waitUntil(() => k.gaps.length === 1 && s.state() === 'subscribed', 5000, 'gap handled');
    expect(k.gaps[0]!.since).toEqual({ replayId: old, commitTimestamp: 7 });

    ch.h.server.dropClients(ORG);
    // Published while the client is unknown: a subscribe at -1 skips it, so the window is reconciled again.
    ch.publish('Account', 'while dropped');
    await waitUntil(() => k.gaps.length === 2 && s.state() === 'subscribed', 5000, 'second gap');
    expect(k.gaps[1]!.since).toEqual({ replayId: old, commitTimestamp: 7 });
    const next = ch.publish('Account');
    await waitUntil(() => k.handled.length === 1, 5000, 'event after re-handshake');
    expect(k.ids()).toEqual([next]);

    // Once an event was processed the replay map covers re-handshakes again: no more gaps.
    await waitUntil(() => k.store.get(ACCOUNT)?.replayId === next, 5000, 'checkpoint');
    ch.h.server.dropClients(ORG);
    const after = ch.publish('Account', 'while dropped again');
    await waitUntil(() => k.handled.length === 2, 5000, 'event published while dropped');
    expect(k.ids()).toEqual([next, after]);
    expect(k.gaps).toHaveLength(2);
  });

  it('a channel started without a position that is re-handshaken before its first event reports the window since it subscribed', async () => {
    const k = sink();
    const s = track(createCdcSubscriber(options(fakeSession(ch), k)));
    const before = Date.now();
    await s.start();
    await subscribed(s);
    ch.h.server.dropClients(ORG);
    await waitUntil(() => k.gaps.length === 1, 5000, 'window reported');
    expect(k.gaps[0]!.channel).toBe(ACCOUNT);
    expect(k.gaps[0]!.since!.replayId).toBe('-1');
    expect(k.gaps[0]!.since!.commitTimestamp).toBeLessThanOrEqual(before);
    expect(k.gaps[0]!.since!.commitTimestamp).toBeGreaterThan(before - 120_000);
  });

  it('dropClients (403::Unknown client): faye re-handshakes and the re-subscribe resumes every channel from its processed position', async () => {
    const k = sink();
    const s = track(createCdcSubscriber(options(fakeSession(ch), k, { channels: [ACCOUNT, CONTACT] })));
    await s.start();
    await subscribed(s);
    const a1 = ch.publish('Account');
    const c1 = ch.publish('Contact');
    await waitUntil(() => k.handled.length === 2, 5000, 'first events');

    expect(ch.h.server.dropClients(ORG)).toBe(1);
    // Published while the client is unknown to the server: only a correct replay map brings them back.
    const a2 = ch.publish('Account');
    const c2 = ch.publish('Contact');
    const a3 = ch.publish('Account');
    await waitUntil(() => k.handled.length >= 5, 8000, 'events published while dropped');
    await settle(200);
    expect(k.ids(ACCOUNT)).toEqual([a1, a2, a3]);
    expect(k.ids(CONTACT)).toEqual([c1, c2]);
    expect(ch.h.server.stats(ORG).streamingClients).toBe(1);
    await subscribed(s, 'subscribed again');
  });

  it('two channels on one client start from their own positions', async () => {
    const a1 = ch.publish('Account');
    const c1 = ch.publish('Contact');
    const a2 = ch.publish('Account');
    const c2 = ch.publish('Contact');
    const a3 = ch.publish('Account');
    const k = sink();
    const positions = new Map([
      [ACCOUNT, { replayId: a1, commitTimestamp: 1 }],
      [CONTACT, { replayId: c2, commitTimestamp: 1 }],
    ]);
    const s = track(createCdcSubscriber(options(fakeSession(ch), k, { channels: [ACCOUNT, CONTACT], positions })));
    await s.start();
    await waitUntil(() => k.handled.length >= 2, 5000, 'replayed events');
    const c3 = ch.publish('Contact');
    await waitUntil(() => k.handled.length >= 3, 5000, 'new contact');
    await settle(100);
    expect(k.ids(ACCOUNT)).toEqual([a2, a3]);
    expect(k.ids(CONTACT)).toEqual([c3]);
    expect(c1).toBeDefined();
    expect(ch.h.server.stats(ORG).streamingClients).toBe(1);
  });

  it('a channel without a position starts at -1: only new events', async () => {
    ch.publish('Account');
    const k = sink();
    const s = track(createCdcSubscriber(options(fakeSession(ch), k)));
    await s.start();
    await subscribed(s);
    const next = ch.publish('Account');
    await waitUntil(() => k.handled.length === 1);
    await settle(100);
    expect(k.ids()).toEqual([next]);
  });

  it('a revoked access token: refreshed once, the client rebuilt with the new token, events keep flowing', async () => {
    const session = fakeSession(ch);
    const k = sink();
    const s = track(createCdcSubscriber(options(session, k)));
    await s.start();
    await subscribed(s);
    const first = session.current;
    const a1 = ch.publish('Account');
    await waitUntil(() => k.handled.length === 1);

    ch.revoke(first);
    const a2 = ch.publish('Account');
    await waitUntil(() => session.current !== first && s.state() === 'subscribed', 5000, 'rebuilt with a new token');
    const a3 = ch.publish('Account');
    await waitUntil(() => k.handled.length === 3, 5000, 'events after the refresh');
    expect(k.ids()).toEqual([a1, a2, a3]);
    expect(session.refreshes).toBe(1);
    expect(ch.h.server.stats(ORG).streamingClients).toBe(1);
  });

  it('a refresh that fails with ReauthRequiredError ends in needs_reauth without a retry loop', async () => {
    const session = fakeSession(ch);
    const states: CdcState[] = [];
    const k = sink();
    const s = track(createCdcSubscriber(options(session, k, { onStateChange: (st) => states.push(st) })));
    await s.start();
    await subscribed(s);
    session.revokeGrant();
    ch.revoke(session.current);
    await waitUntil(() => s.state() === 'needs_reauth', 5000, 'needs_reauth');
    await settle(500);
    expect(session.refreshes).toBe(1);
    expect(s.state()).toBe('needs_reauth');
    expect(ch.h.server.stats(ORG).streamingClients).toBe(0);
    expect(states).toEqual(['connecting', 'subscribed', 'reconnecting', 'needs_reauth']);
    await s.stop();
    expect(s.state()).toBe('stopped');
  });

  it('a token refreshed elsewhere (REST, the schedule) does not interrupt a live stream; once the old one is refused, the client is rebuilt with the new one without another refresh, resuming where it was', async () => {
    const states: CdcState[] = [];
    const session = fakeSession(ch);
    const k = sink();
    const s = track(createCdcSubscriber(options(session, k, { onStateChange: (st) => states.push(st) })));
    await s.start();
    await subscribed(s);
    const first = ch.publish('Account');
    await waitUntil(() => k.handled.length === 1, 5000, 'the first event');
    const old = session.current;
    session.rotate();
    await settle(300);
    expect(states).toEqual(['connecting', 'subscribed']);
    ch.revoke(old);
    const a = ch.publish('Account');
    await waitUntil(() => k.handled.length === 2, 5000, 'the event published while the client was refused, replayed on the new client');
    expect(k.ids()).toEqual([first, a]);
    expect(states).toEqual(['connecting', 'subscribed', 'reconnecting', 'subscribed']);
    expect(session.refreshes).toBe(0);
    expect(ch.h.server.stats(ORG).streamingClients).toBe(1);
  });

  it('a backlog beyond maxBuffered pauses the stream and resumes from the processed position: bounded, nothing lost', async () => {
    let open = false;
    const k = sink({
      gate: async () => {
        while (!open) await settle(10);
      },
    });
    const states: CdcState[] = [];
    const s = track(createCdcSubscriber(options(fakeSession(ch), k, { maxBuffered: 5, onStateChange: (st) => states.push(st) })));
    await s.start();
    await subscribed(s);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push(ch.publish('Account'));
      await settle(5);
    }
    await waitUntil(() => s.state() === 'paused', 5000, 'paused');
    expect(ch.h.server.stats(ORG).streamingClients).toBe(0);
    open = true;
    await waitUntil(() => k.handled.length >= 30, 8000, 'everything after resuming');
    await settle(100);
    expect(k.ids()).toEqual(ids);
    await subscribed(s, 'subscribed after the backlog drained');
    expect(states).toContain('paused');
  });

  it('setChannels adds and removes channels on the running client', async () => {
    const k = sink();
    const states: CdcState[] = [];
    const s = track(createCdcSubscriber(options(fakeSession(ch), k, { onStateChange: (st) => states.push(st) })));
    await s.start();
    await subscribed(s);
    await s.setChannels([ACCOUNT, CONTACT]);
    // Until the new channel's subscribe is acknowledged, a change to it would be in no stream.
    expect(s.state()).toBe('connecting');
    await waitUntil(() => s.state() === 'subscribed', 5000);
    expect(states).toEqual(['connecting', 'subscribed', 'connecting', 'subscribed']);
    // Subscribed means live: a change made right away streams in.
    const c = ch.publish('Contact');
    await waitUntil(() => k.handled.length === 1, 5000, 'contact event');
    await s.setChannels([CONTACT]);
    await settle(100);
    ch.publish('Account');
    const c2 = ch.publish('Contact');
    await waitUntil(() => k.handled.length === 2, 5000, 'second contact');
    await settle(150);
    expect(k.handled.map((m) => m.channel)).toEqual([CONTACT, CONTACT]);
    expect(k.ids()).toEqual([c, c2]);

    // No channel left: no client either; a channel added back builds one again.
    await s.setChannels([]);
    await waitUntil(() => ch.h.server.stats(ORG).streamingClients === 0, 5000, 'client gone');
    await s.setChannels([ACCOUNT]);
    await waitUntil(() => ch.h.server.stats(ORG).streamingClients === 1 && s.state() === 'subscribed', 5000, 'client back');
    const a = ch.publish('Account');
    await waitUntil(() => k.handled.length === 3, 5000, 'account event');
    expect(k.ids(ACCOUNT)).toEqual([a]);
  });
});

describe('CDC subscriber: a channel removed while its events wait', () => {
  let ch: CdcHarness;
  beforeEach(async () => {
    ch = await startCdcHarness();
  });
  afterEach(async () => {
    await ch.close();
  });

  it('still hands over the events it received for the channel: the reader taking over starts from the checkpoint and sees only states', async () => {
    let release: () => void = () => {};
    let gate = Promise.resolve();
    const k = sink({ gate: () => gate });
    const s = createCdcSubscriber(options(fakeSession(ch), k, { maxBatch: 1 }));
    try {
      await s.start();
      await waitUntil(() => s.state() === 'subscribed', 5000, 'subscribed');
      gate = new Promise((r) => (release = r));
      const ids = [1, 2, 3].map(() => ch.publish('Account'));
      await settle(300);
      await s.setChannels([CONTACT]);
      release();
      gate = Promise.resolve();
      await waitUntil(() => k.ids(ACCOUNT).length === 3, 5000, 'every received Account event handled');
      expect(k.ids(ACCOUNT)).toEqual(ids);
    } finally {
      await s.stop();
    }
  });
});

describe('CDC subscriber watchdog', () => {
  it('rebuilds a client whose connection went silent without an error, and resumes from the processed position', async () => {
    // The server holds connects for a long time, so only the watchdog can notice the silence.
    const ch = await startCdcHarness({ connectTimeoutMs: 30_000 });
    const proxy = await silentProxy(ch.h.url);
    const k = sink();
    const s = createCdcSubscriber(options(fakeSession(ch, proxy.url), k, { silenceTimeoutMs: 600 }));
    try {
      await s.start();
      await waitUntil(() => s.state() === 'subscribed', 5000);
      const a1 = ch.publish('Account');
      await waitUntil(() => k.handled.length === 1, 5000, 'first event');

      proxy.freeze();
      // This event is queued for the frozen client and never reaches it.
      const a2 = ch.publish('Account');
      await waitUntil(() => k.handled.length >= 2, 8000, 'event after the watchdog rebuilt the client');
      const a3 = ch.publish('Account');
      await waitUntil(() => k.handled.length >= 3, 5000, 'next event');
      expect(k.ids()).toEqual([a1, a2, a3]);
      await waitUntil(() => ch.h.server.stats(ORG).streamingClients === 1, 5000, 'the frozen client disconnected');
    } finally {
      await s.stop();
      await proxy.close();
      await ch.close();
    }
  });
});

describe('CDC subscriber over a failing network', () => {
  it('transport errors: faye retries with backoff, the state says reconnecting, and nothing published meanwhile is lost', async () => {
    const ch = await startCdcHarness();
    const proxy = await silentProxy(ch.h.url);
    const k = sink();
    const states: CdcState[] = [];
    const s = createCdcSubscriber(options(fakeSession(ch, proxy.url), k, { onStateChange: (st) => states.push(st) }));
    try {
      await s.start();
      await waitUntil(() => s.state() === 'subscribed', 5000);
      const a1 = ch.publish('Account');
      await waitUntil(() => k.handled.length === 1, 5000, 'first event');
      proxy.cut();
      await waitUntil(() => s.state() === 'reconnecting', 5000, 'reconnecting');
      const a2 = ch.publish('Account');
      const a3 = ch.publish('Account');
      await settle(300);
      proxy.restore();
      await waitUntil(() => k.handled.length >= 3, 8000, 'events published during the outage');
      await waitUntil(() => s.state() === 'subscribed', 5000, 'subscribed again');
      expect(k.ids()).toEqual([a1, a2, a3]);
      expect(states).toEqual(['connecting', 'subscribed', 'reconnecting', 'subscribed']);
    } finally {
      await s.stop();
      await proxy.close();
      await ch.close();
    }
  });
});

describe('CDC subscriber gaps on one channel of two', () => {
  it('only the expired channel restarts at -1 and is reconciled; the other resumes from its position', async () => {
    const ch = await startCdcHarness();
    const k = sink();
    try {
      const oldA = ch.publish('Account');
      ch.h.clock.now += 72 * 3600 * 1000 + 1;
      const c1 = ch.publish('Contact');
      const c2 = ch.publish('Contact');
      const positions = new Map([
        [ACCOUNT, { replayId: oldA, commitTimestamp: 5 }],
        [CONTACT, { replayId: c1, commitTimestamp: 6 }],
      ]);
      const s = createCdcSubscriber(options(fakeSession(ch), k, { channels: [ACCOUNT, CONTACT], positions }));
      await s.start();
      await waitUntil(() => s.state() === 'subscribed' && k.gaps.length === 1 && k.handled.length === 1, 5000, 'gap and replay');
      expect(k.gaps).toEqual([{ channel: ACCOUNT, since: { replayId: oldA, commitTimestamp: 5 } }]);
      expect(k.ids(CONTACT)).toEqual([c2]);
      const a = ch.publish('Account');
      await waitUntil(() => k.handled.length === 2, 5000, 'new account event');
      expect(k.ids(ACCOUNT)).toEqual([a]);
      await s.stop();
      // The contact checkpoint moved; the account one only moves once an account event is processed.
      expect(k.store.get(CONTACT)?.replayId).toBe(c2);
      expect(k.store.get(ACCOUNT)?.replayId).toBe(a);
    } finally {
      await ch.close();
    }
  });
});
