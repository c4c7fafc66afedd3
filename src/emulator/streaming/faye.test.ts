import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { faye, startHarness, type Harness } from '../../../testkit/emulator/streaming.js';
import { waitUntil } from '../../../testkit/wait.js';

const ORG = '00D000000000001AAA';
const TOKEN = 'tok-faye';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = any;

function client(h: Harness, token = TOKEN) {
  const c = new faye.Client(`${h.url}/cometd/59.0`);
  c.setHeader('Authorization', `OAuth ${token}`);
  const seen: Message[] = [];
  c.addExtension({ incoming: (m: Message, cb: (m: Message) => void) => (seen.push(m), cb(m)) });
  return { c, seen };
}

describe('streaming over a bare faye client', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.addOrg(ORG, TOKEN);
  });
  afterEach(async () => {
    await h.close();
  });

  it('delivers only events published after a subscribe without replay (-1)', async () => {
    h.publish(ORG, 'Account', { Name: 'before' });
    const { c } = client(h);
    const got: Message[] = [];
    await c.subscribe('/data/AccountChangeEvent', (d: Message) => got.push(d));
    const r1 = h.publish(ORG, 'Account', { Name: 'one' });
    const r2 = h.publish(ORG, 'Account', { Name: 'two' });
    await waitUntil(() => got.length === 2, 5000, 'two events');
    expect(got.map((d) => d.event.replayId)).toEqual([r1, r2]);
    expect(got[0].payload.Name).toBe('one');
    expect(got[0].payload.ChangeEventHeader.entityName).toBe('Account');
    expect(typeof got[0].schema).toBe('string');
    c.disconnect();
  });

  it('/data/ChangeEvents gets every entity with the same replayId as the entity channel', async () => {
    const { c, seen } = client(h);
    const all: Message[] = [];
    const acc: Message[] = [];
    await c.subscribe('/data/ChangeEvents', (d: Message) => all.push(d));
    await c.subscribe('/data/AccountChangeEvent', (d: Message) => acc.push(d));
    const ra = h.publish(ORG, 'Account');
    const rc = h.publish(ORG, 'Contact');
    await waitUntil(() => all.length === 2 && acc.length === 1, 5000, 'events');
    expect(all.map((d) => d.event.replayId)).toEqual([ra, rc]);
    expect(acc[0].event.replayId).toBe(ra);
    const delivered = seen.filter((m) => m.data !== undefined);
    expect(delivered.map((m) => m.channel).sort()).toEqual(['/data/AccountChangeEvent', '/data/ChangeEvents', '/data/ChangeEvents']);
    // Salesforce's envelope: channel and data only.
    for (const m of delivered) expect(Object.keys(m).sort()).toEqual(['channel', 'data']);
    c.disconnect();
  });

  it('after dropClients faye gets 403::Unknown client, re-handshakes, re-subscribes and keeps receiving', async () => {
    const { c, seen } = client(h);
    const got: Message[] = [];
    await c.subscribe('/data/AccountChangeEvent', (d: Message) => got.push(d));
    h.publish(ORG, 'Account');
    await waitUntil(() => got.length === 1);
    const firstId = seen.find((m) => m.channel === '/meta/handshake')?.clientId;
    await waitUntil(() => seen.filter((m) => m.channel === '/meta/connect').length >= 2, 5000, 'a held connect');

    expect(h.server.dropClients(ORG)).toBe(1);
    expect(h.server.stats(ORG).streamingClients).toBe(0);
    await waitUntil(() => seen.filter((m) => m.channel === '/meta/subscribe' && m.successful).length >= 2, 10000, 're-subscribe');
    const unknown = seen.find((m) => m.error === '403::Unknown client');
    expect(unknown.advice).toEqual({ interval: 0, reconnect: 'handshake' });
    const handshakes = seen.filter((m) => m.channel === '/meta/handshake' && m.successful);
    expect(handshakes).toHaveLength(2);
    expect(handshakes[1].clientId).not.toBe(firstId);
    expect(h.server.stats(ORG).streamingClients).toBe(1);

    const r = h.publish(ORG, 'Account', { Name: 'after drop' });
    await waitUntil(() => got.length === 2, 5000, 'event after re-handshake');
    expect(got[1].event.replayId).toBe(r);
    c.disconnect();
  });

  it('a bad token gets 403::Handshake denied with ext.sfdc.failureReason and advice reconnect none', async () => {
    const { c, seen } = client(h, 'no-such-token');
    c.subscribe('/data/AccountChangeEvent', () => {});
    await waitUntil(() => seen.some((m) => m.channel === '/meta/handshake'));
    const hs = seen.find((m) => m.channel === '/meta/handshake');
    expect(hs).toMatchObject({
      ext: { sfdc: { failureReason: '401::Authentication invalid' }, replay: true, 'payload.format': true },
      advice: { reconnect: 'none' },
      channel: '/meta/handshake',
      error: '403::Handshake denied',
      successful: false,
    });
    expect(h.server.stats(ORG).streamingClients).toBe(0);
  });

  it('forgets a client that does not come back within the client timeout', async () => {
    await h.close();
    h = await startHarness({ clientTimeoutMs: 300 });
    h.addOrg(ORG, TOKEN);
    const res = await fetch(`${h.url}/cometd/59.0`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `OAuth ${TOKEN}` },
      body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]),
    });
    expect(((await res.json()) as Message[])[0].successful).toBe(true);
    expect(h.server.stats(ORG).streamingClients).toBe(1);
    await waitUntil(() => h.server.stats(ORG).streamingClients === 0, 3000, 'expiry');
  });
});
