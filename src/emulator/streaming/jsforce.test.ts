import jsforce from 'jsforce';
import { StreamingExtension } from 'jsforce/lib/api/streaming.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus } from './bus.js';
import { startHarness, type Harness } from '../../../testkit/emulator/streaming.js';
import { waitUntil } from '../../../testkit/wait.js';

const ORG = '00D000000000002AAA';
const TOKEN = 'tok-jsforce';
const CH = '/data/AccountChangeEvent';
const INVALID_TAIL = 'you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = any;

function conn(h: Harness, token = TOKEN) {
  return new jsforce.Connection({ instanceUrl: h.url, accessToken: token, version: '59.0' });
}

/** A faye extension that only records what came in, so tests can read the raw Bayeux replies. */
function recorder() {
  const seen: Message[] = [];
  return { seen, ext: { incoming: (m: Message, cb: (m: Message) => void) => (seen.push(m), cb(m)) } };
}

describe('streaming through jsforce 3 with its Replay and AuthFailure extensions', () => {
  let h: Harness;
  let bus: EventBus;
  beforeEach(async () => {
    h = await startHarness();
    bus = h.addOrg(ORG, TOKEN);
  });
  afterEach(async () => {
    await h.close();
  });

  it('-2 replays every retained event, then new ones', async () => {
    const ids = [h.publish(ORG, 'Account'), h.publish(ORG, 'Contact'), h.publish(ORG, 'Account')];
    const client = conn(h).streaming.createClient([new StreamingExtension.Replay(CH, -2)]);
    const got: Message[] = [];
    await client.subscribe(CH, (m: Message) => got.push(m));
    await waitUntil(() => got.length === 2, 5000, 'replayed events');
    expect(got.map((m) => m.event.replayId)).toEqual([ids[0], ids[2]]);
    const next = h.publish(ORG, 'Account');
    await waitUntil(() => got.length === 3, 5000, 'new event');
    expect(got[2].event.replayId).toBe(next);
    (client as Message).disconnect();
  });

  it('N replays the events after N', async () => {
    const ids = [1, 2, 3, 4].map(() => h.publish(ORG, 'Account'));
    const client = conn(h).streaming.createClient([new StreamingExtension.Replay(CH, ids[1])]);
    const got: Message[] = [];
    await client.subscribe(CH, (m: Message) => got.push(m));
    await waitUntil(() => got.length === 2, 5000, 'events after N');
    expect(got.map((m) => m.event.replayId)).toEqual([ids[2], ids[3]]);
    (client as Message).disconnect();
  });

  it('a replayId older than 72 h answers the exact invalid-replayId string', async () => {
    const old = h.publish(ORG, 'Account');
    h.clock.now += 72 * 3600 * 1000 + 1;
    h.publish(ORG, 'Account');
    const rec = recorder();
    const client = conn(h).streaming.createClient([new StreamingExtension.Replay(CH, old), rec.ext]);
    const err: Message = await client
      .subscribe(CH, () => {})
      .then(
        () => null,
        (e: unknown) => e,
      );
    const reply = rec.seen.find((m) => m.channel === '/meta/subscribe');
    expect(reply.successful).toBe(false);
    expect(reply.error).toBe(`400::The replayId {${old}} ${INVALID_TAIL}`);
    // faye's error grammar does not accept this message's punctuation, so it keeps the whole string.
    expect(err.message).toBe(reply.error);
    (client as Message).disconnect();
  });

  it("after the 'expire-replay' fault (expireAll) a once-valid replayId is invalid, -2 still works", async () => {
    const id = h.publish(ORG, 'Account');
    bus.expireAll();
    expect(bus.retained()).toBe(0);
    const rec = recorder();
    const bad = conn(h).streaming.createClient([new StreamingExtension.Replay(CH, id), rec.ext]);
    await bad
      .subscribe(CH, () => {})
      .then(
        () => {},
        () => {},
      );
    expect(rec.seen.find((m) => m.channel === '/meta/subscribe').error).toBe(`400::The replayId {${id}} ${INVALID_TAIL}`);
    (bad as Message).disconnect();

    const got: Message[] = [];
    const good = conn(h).streaming.createClient([new StreamingExtension.Replay(CH, -2)]);
    await good.subscribe(CH, (m: Message) => got.push(m));
    const next = h.publish(ORG, 'Account');
    await waitUntil(() => got.length === 1);
    expect(got[0].event.replayId).toBe(next);
    (good as Message).disconnect();
  });

  it('after dropClients jsforce re-handshakes and its Replay extension resumes after the last event it saw', async () => {
    const rec = recorder();
    const client = conn(h).streaming.createClient([new StreamingExtension.Replay(CH, -1), rec.ext]);
    const got: Message[] = [];
    await client.subscribe(CH, (m: Message) => got.push(m));
    const first = h.publish(ORG, 'Account');
    await waitUntil(() => got.length === 1);
    await waitUntil(() => rec.seen.filter((m) => m.channel === '/meta/connect').length >= 2, 5000, 'a held connect');
    h.server.dropClients(ORG);
    // Published while the client is gone: the replay map of the re-subscribe must bring it back.
    const missed = h.publish(ORG, 'Account');
    await waitUntil(() => got.length === 2, 10000, 'the missed event');
    expect(got.map((m) => m.event.replayId)).toEqual([first, missed]);
    expect(rec.seen.some((m) => m.error === '403::Unknown client')).toBe(true);
    (client as Message).disconnect();
  });

  it('a Replay extension without a replayId sends an empty map and gets the map-mismatch error', async () => {
    const rec = recorder();
    const client = conn(h).streaming.createClient([new StreamingExtension.Replay(CH), rec.ext]);
    await client
      .subscribe(CH, () => {})
      .then(
        () => {},
        () => {},
      );
    expect(rec.seen.find((m) => m.channel === '/meta/subscribe').error).toBe(
      `400::The replayId for channel {${CH}} wasn't found using the provided replay ID map {{}}. ` +
        'Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.',
    );
    (client as Message).disconnect();
  });

  it('two channels on one client with one Replay extension: the second subscribe names the wrong map', async () => {
    const rec = recorder();
    const client = conn(h).streaming.createClient([new StreamingExtension.Replay('/data/ContactChangeEvent', -2), rec.ext]);
    await client.subscribe('/data/ContactChangeEvent', () => {});
    await client
      .subscribe(CH, () => {})
      .then(
        () => {},
        () => {},
      );
    const replies = rec.seen.filter((m) => m.channel === '/meta/subscribe');
    expect(replies[1].error).toBe(
      `400::The replayId for channel {${CH}} wasn't found using the provided replay ID map {{/data/ContactChangeEvent=-2}}. ` +
        'Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.',
    );
    (client as Message).disconnect();
  });

  it('after the token is revoked, revalidate() ends the client: AuthFailure fires with 401::Authentication invalid', async () => {
    const failures: Message[] = [];
    const rec = recorder();
    const client = conn(h).streaming.createClient([
      new StreamingExtension.Replay(CH, -1),
      new StreamingExtension.AuthFailure((m: Message) => failures.push(m)),
      rec.ext,
    ]);
    const got: Message[] = [];
    await client.subscribe(CH, (m: Message) => got.push(m));
    h.publish(ORG, 'Account');
    await waitUntil(() => got.length === 1);
    await waitUntil(() => rec.seen.filter((m) => m.channel === '/meta/connect').length >= 2, 5000, 'a held connect');

    h.revokeToken(TOKEN);
    h.server.revalidate();
    await waitUntil(() => failures.length === 1, 5000, 'AuthFailure callback');
    expect(failures[0]).toMatchObject({
      channel: '/meta/connect',
      error: '401::Authentication invalid',
      successful: false,
      advice: { reconnect: 'none', interval: 0 },
    });
    expect(h.server.stats(ORG).streamingClients).toBe(0);
  });

  it('a handshake with a bad token reaches AuthFailure as 403::Handshake denied', async () => {
    const failures: Message[] = [];
    const client = conn(h, 'revoked').streaming.createClient([new StreamingExtension.AuthFailure((m: Message) => failures.push(m))]);
    client.subscribe(CH, () => {});
    await waitUntil(() => failures.length === 1, 5000, 'AuthFailure callback');
    expect(failures[0]).toMatchObject({
      channel: '/meta/handshake',
      error: '403::Handshake denied',
      ext: { sfdc: { failureReason: '401::Authentication invalid' } },
      advice: { reconnect: 'none' },
    });
  });
});
