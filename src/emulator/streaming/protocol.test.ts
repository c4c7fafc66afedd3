import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus } from './bus.js';
import { startHarness, type Harness } from '../../../testkit/emulator/streaming.js';

/**
 * Raw Bayeux over fetch, compared field by field with the exchanges quoted in
 * shared/reference/salesforce-protocol.md (§1.2, §1.3, §1.4, §1.6, §2.2).
 */

const ORG = '00D000000000003AAA';
const TOKEN = 'tok-raw';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = any;

class RawClient {
  cookies = new Map<string, string>();
  lastStatus = 0;
  constructor(
    private readonly url: string,
    private readonly token: string | null = TOKEN,
  ) {}

  async post(messages: Message[], path = '/cometd/59.0', opts: { cookies?: boolean } = {}): Promise<Message[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token) headers['authorization'] = `OAuth ${this.token}`;
    if (opts.cookies !== false && this.cookies.size > 0) {
      headers['cookie'] = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    const res = await fetch(this.url + path, { method: 'POST', headers, body: JSON.stringify(messages) });
    this.lastStatus = res.status;
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return (await res.json()) as Message[];
  }

  async handshake(): Promise<string> {
    const [hs] = await this.post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    return hs.clientId;
  }
}

describe('raw Bayeux exchanges match the reference', () => {
  let h: Harness;
  let bus: EventBus;
  beforeEach(async () => {
    // Salesforce's own hold time, so advice.timeout is the documented 110000.
    h = await startHarness({ connectTimeoutMs: 110_000 });
    bus = h.addOrg(ORG, TOKEN);
  });
  afterEach(async () => {
    await h.close();
  });

  it('handshake (Java client request, path suffix) answers §1.2 field by field and sets the session cookie', async () => {
    const c = new RawClient(h.url);
    const [hs] = await c.post(
      [{ ext: { replay: true }, supportedConnectionTypes: ['long-polling'], channel: '/meta/handshake', id: '8', version: '1.0' }],
      '/cometd/59.0/handshake',
    );
    const reference: Message = {
      ext: { replay: true, 'payload.format': true },
      minimumVersion: '1.0',
      clientId: '41kdiuvgig2tfxdh9weakuiwyh',
      supportedConnectionTypes: ['long-polling'],
      channel: '/meta/handshake',
      id: '1',
      version: '1.0',
      successful: true,
      reestablish: false,
    };
    expect(Object.keys(hs)).toEqual(Object.keys(reference));
    expect(hs.clientId).toMatch(/^[0-9a-z]{26}$/);
    expect({ ...hs, clientId: reference.clientId, id: reference.id }).toEqual(reference);
    expect(hs.id).toBe('8');
    expect(c.cookies.has('BAYEUX_BROWSER')).toBe(true);
  });

  it('connect and subscribe answer §1.3 / §1.4 field by field', async () => {
    const c = new RawClient(h.url);
    const clientId = await c.handshake();
    const [connect] = await c.post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '2' }]);
    expect(Object.keys(connect).sort()).toEqual(['advice', 'channel', 'clientId', 'id', 'successful']);
    expect(connect).toEqual({
      clientId,
      advice: { interval: 0, timeout: 110000, reconnect: 'retry' },
      channel: '/meta/connect',
      id: '2',
      successful: true,
    });
    const [sub] = await c.post([
      { channel: '/meta/subscribe', clientId, subscription: '/data/ChangeEvents', id: '15', ext: { replay: { '/data/ChangeEvents': -1 } } },
    ]);
    expect(sub).toEqual({ clientId, channel: '/meta/subscribe', id: '15', subscription: '/data/ChangeEvents', successful: true });
  });

  it('a held connect returns with the §2.2 envelope as soon as an event is published', async () => {
    const c = new RawClient(h.url);
    const clientId = await c.handshake();
    await c.post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '2' }]);
    await c.post([{ channel: '/meta/subscribe', clientId, subscription: '/data/ChangeEvents', id: '3' }]);
    const held = c.post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '4' }]);
    await new Promise((r) => setTimeout(r, 50));
    const payload = {
      ChangeEventHeader: {
        entityName: 'Account',
        recordIds: ['<record_ID>'],
        changeType: 'CREATE',
        changeOrigin: 'com.salesforce.core',
        transactionKey: '001b7375-0086-250e-e6ca-b99bc3a8b69f',
        sequenceNumber: 1,
        isTransactionEnd: true,
        commitTimestamp: 1501010206653,
        commitNumber: 92847272780,
        commitUser: '<User_ID>',
      },
      Name: 'Acme',
      Description: 'Everyone is talking about the cloud. But what does it mean?',
      OwnerId: '<Owner_ID>',
      CreatedDate: '2017-07-25T19:16:44Z',
      CreatedById: '<User_ID>',
      LastModifiedDate: '2017-07-25T19:16:44Z',
      LastModifiedById: '<User_ID>',
    };
    const t0 = Date.now();
    const replayId = bus.publish('/data/AccountChangeEvent', payload, 'IeRuaY6cbI_HsV8Rv1Mc5g').replayId;
    const [event, connect] = await held;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(event).toEqual({
      data: { schema: 'IeRuaY6cbI_HsV8Rv1Mc5g', payload, event: { replayId } },
      channel: '/data/ChangeEvents',
    });
    expect(connect).toMatchObject({ channel: '/meta/connect', id: '4', successful: true });
  });

  it('a batched POST gets one answer array; a connect with advice.timeout 0 is not held', async () => {
    const c = new RawClient(h.url);
    const clientId = await c.handshake();
    h.publish(ORG, 'Account');
    const replies = await c.post([
      { channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '2', advice: { timeout: 0 } },
      { channel: '/meta/subscribe', clientId, subscription: '/data/AccountChangeEvent', id: '3', ext: { replay: { '/data/AccountChangeEvent': '-2' } } },
    ]);
    expect(replies.map((m) => m.channel)).toEqual(['/meta/subscribe', '/data/AccountChangeEvent', '/meta/connect']);
    expect(replies[0].successful).toBe(true);
    expect(replies[1].data.event.replayId).toBe(1);
  });

  it('an unknown client gets §1.6 403::Unknown client with advice reconnect handshake', async () => {
    const c = new RawClient(h.url);
    const [reply] = await c.post([{ channel: '/meta/connect', clientId: 'nope', connectionType: 'long-polling', id: '9' }]);
    expect(reply).toMatchObject({ error: '403::Unknown client', successful: false, advice: { interval: 0, reconnect: 'handshake' } });
    expect(reply.advice).toEqual({ interval: 0, reconnect: 'handshake' });
  });

  it('a revoked token gets the §1.6 connect reply verbatim (401, reconnect none)', async () => {
    const c = new RawClient(h.url);
    const clientId = await c.handshake();
    h.revokeToken(TOKEN);
    h.server.revalidate();
    const [reply] = await c.post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: 7 }]);
    expect(reply).toEqual({
      clientId,
      advice: { reconnect: 'none', interval: 0 },
      channel: '/meta/connect',
      id: 7,
      error: '401::Authentication invalid',
      successful: false,
    });
    const [again] = await c.post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: 8 }]);
    expect(again.error).toBe('403::Unknown client');
  });

  it('a handshake with a bad token answers the captured §1.6 denial', async () => {
    const c = new RawClient(h.url, 'expired');
    const [reply] = await c.post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '2x' }]);
    expect(reply).toEqual({
      ext: { sfdc: { failureReason: '401::Authentication invalid' }, replay: true, 'payload.format': true },
      advice: { reconnect: 'none' },
      channel: '/meta/handshake',
      id: '2x',
      error: '403::Handshake denied',
      successful: false,
    });
    const anon = new RawClient(h.url, null);
    const [noAuth] = await anon.post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    expect(noAuth.ext.sfdc.failureReason).toBe('401::Request requires authentication');
  });

  it('subscribe errors use Salesforce wording', async () => {
    const c = new RawClient(h.url);
    const clientId = await c.handshake();
    const sub = (subscription: unknown, ext?: unknown) =>
      c.post([{ channel: '/meta/subscribe', clientId, subscription, id: 's', ...(ext ? { ext } : {}) }]).then((r) => r[0].error);
    expect(await sub('/data/LeadChangeEvent')).toBe("400::The channel you requested to subscribe to doesn't exist {/data/LeadChangeEvent}");
    expect(await sub('data/AccountChangeEvent')).toBe("400::Channel subscriptions must start with a leading '/'");
    expect(await sub(undefined)).toBe('400::Channel name not specified');
    expect(await sub('/data/AccountChangeEvent', { replay: { '/data/AccountChangeEvent': 99 } })).toBe(
      '400::The replayId {99} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.',
    );
    expect(await sub('/data/AccountChangeEvent', { replay: { '/event/Account_Change__e': -2, '/data/ContactChangeEvent': -1 } })).toBe(
      "400::The replayId for channel {/data/AccountChangeEvent} wasn't found using the provided replay ID map " +
        '{{/event/Account_Change__e=-2, /data/ContactChangeEvent=-1}}. ' +
        'Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.',
    );
  });

  it('an established client without its session cookie is refused', async () => {
    const c = new RawClient(h.url);
    const clientId = await c.handshake();
    const [reply] = await c.post([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', id: '2' }], '/cometd/59.0', { cookies: false });
    expect(reply.error).toBe(`400::Client ${clientId} has established a session, but no BAYEUX_BROWSER cookie present`);
  });

  it('API versions below 37.0 are refused with the §1.1 string', async () => {
    const c = new RawClient(h.url);
    const [reply] = await c.post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }], '/cometd/36.0');
    expect(c.lastStatus).toBe(400);
    expect(reply.error).toBe("400::Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/68.0'");
  });

  it('refuses handshakes over the concurrent client limit of the org', async () => {
    await h.close();
    h = await startHarness({ maxClientsPerOrg: 1 });
    h.addOrg(ORG, TOKEN);
    await new RawClient(h.url).handshake();
    const [reply] = await new RawClient(h.url).post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]);
    expect(reply).toEqual({ channel: '/meta/handshake', id: '1', error: '403::Organization concurrent user limit exceeded', successful: false });
  });
});
