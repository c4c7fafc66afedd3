import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { channelReceives, eventDataJson, type EventBus, type StreamEvent } from './bus.js';
import * as E from './errors.js';
import { ClientRegistry, newClientId, type QueuedDelivery, type StreamingClient } from './registry.js';

export interface StreamingAuth {
  orgId: string;
  userId: string;
}

export interface CometdServerOptions {
  /** null => the token is invalid (expired/revoked) or missing. */
  authenticate(authorizationHeader: string | undefined, cookies: Record<string, string>): StreamingAuth | null;
  /**
   * A live client's connect or subscribe used its session: Salesforce restarts the
   * session timeout on every handshake, connect and subscribe.
   */
  keepAlive?(authorizationHeader: string | undefined): void;
  busFor(orgId: string): EventBus | undefined;
  /** false => the subscribe fails with Salesforce's "channel doesn't exist" error. */
  channelAllowed(orgId: string, channel: string): boolean;
  /** The error a subscribe the user may not make answers (a missing permission), or undefined. */
  subscribeRefusal?(orgId: string, userId: string, channel: string): string | undefined;
  /** false => the event is withheld from this user at delivery (a missing permission). */
  mayReceive?(orgId: string, userId: string, channel: string, event: StreamEvent): boolean;
  now(): number;
  /** How long a /meta/connect is held, and advice.timeout. Default 110000 (Salesforce). */
  connectTimeoutMs?: number;
  /** Server forgets a client that has not reconnected this long after a connect returned. Default 40000. Real time. */
  clientTimeoutMs?: number;
  /** Salesforce rejects requests of an established client without its session cookie. Default true. */
  requireSessionCookie?: boolean;
  /** Upper bound of events in one connect response; the rest follow on the next connect. Default 1000. */
  maxEventsPerConnect?: number;
  /** Concurrent CometD clients per org when `limitsFor` does not say (Performance/Unlimited edition: 2000). */
  maxClientsPerOrg?: number;
  /** The org's own allocations: its concurrent client limit and its event delivery allocation. */
  limitsFor?(orgId: string): OrgStreamingLimits | undefined;
  logger?: Logger;
}

/** What the server asks of an org's allocations; times are the injected clock's. */
export interface OrgStreamingLimits {
  maxClients: number;
  deliveries: { remaining(now: number): number; count(now: number, delivered: number): void };
}

export interface CometdServer {
  handler: (req: Request, res: Response) => void;
  dropClients(orgId: string): number;
  /** Ends the clients of an org whose delivery allocation is spent (the error on their held connect). */
  enforceAllocation(orgId: string): number;
  revalidate(): void;
  stats(orgId: string): { streamingClients: number };
  close(): void;
}

type Msg = Record<string, unknown>;

const BROWSER_COOKIE = 'BAYEUX_BROWSER';
const LB_COOKIE = 'sfdc-stream';
const MAX_REQUEST_BYTES = 32_768;
const MIN_API_VERSION = 37;

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in out)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

function base(msg: Msg, channel: string, clientId?: string): Msg {
  const out: Msg = {};
  if (clientId !== undefined) out['clientId'] = clientId;
  out['channel'] = channel;
  if (msg['id'] !== undefined) out['id'] = msg['id'];
  return out;
}

function deliveryJson(d: QueuedDelivery): string {
  return `{"data":${eventDataJson(d.event)},"channel":${JSON.stringify(d.channel)}}`;
}

export function createCometdServer(opts: CometdServerOptions): CometdServer {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 110_000;
  const requireCookie = opts.requireSessionCookie ?? true;
  const maxEvents = opts.maxEventsPerConnect ?? 1000;
  const maxClientsPerOrg = opts.maxClientsPerOrg ?? 2000;
  const log = opts.logger;
  const registry = new ClientRegistry(opts.clientTimeoutMs ?? 40_000, (c) => {
    log?.debug({ clientId: c.id, orgId: c.orgId }, 'streaming client expired');
    forget(c);
  });
  const connectAdvice = { interval: 0, timeout: connectTimeoutMs, reconnect: 'retry' };
  const unknownClientAdvice = { interval: 0, reconnect: 'handshake' };
  // Salesforce's docs name the error but not its advice: assumed final, like an invalid session,
  // since no retry can succeed before the rolling 24 h frees part of the allocation.
  const allocationAdvice = { reconnect: 'none', interval: 0 };
  const clientLimit = (orgId: string): number => opts.limitsFor?.(orgId)?.maxClients ?? maxClientsPerOrg;
  /** Events the org may still deliver now; Infinity without an allocation. */
  const deliverable = (orgId: string): number => opts.limitsFor?.(orgId)?.deliveries.remaining(opts.now()) ?? Infinity;
  const authInvalidAdvice = { reconnect: 'none', interval: 0 };

  // Events of one tick are gathered and each waiting client is answered once, not per event.
  const pendingFlush = new Set<StreamingClient>();
  let flushScheduled = false;
  function scheduleFlush(client: StreamingClient): void {
    pendingFlush.add(client);
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      for (const c of pendingFlush) if (c.held && c.queue.length > 0) answerHeld(c);
      pendingFlush.clear();
    });
  }

  function send(res: Response, parts: string[], status = 200, setCookies?: string[]): void {
    if (res.headersSent || res.writableEnded) return;
    if (setCookies && setCookies.length > 0) res.setHeader('Set-Cookie', setCookies);
    res.status(status);
    res.setHeader('Content-Type', 'application/json;charset=UTF-8');
    res.setHeader('Cache-Control', 'no-cache, no-store');
    res.end(`[${parts.join(',')}]`);
  }

  /** Whether the client's user may be sent this event now (permissions are checked at delivery). */
  const receives = (client: StreamingClient, d: QueuedDelivery): boolean =>
    opts.mayReceive?.(client.orgId, client.userId, d.channel, d.event) ?? true;

  /** Takes what the next reply carries: at most `maxEvents`, and no more than the org's allocation has left. */
  function drain(client: StreamingClient): string[] {
    // Withheld events are dropped, not delayed, and not counted against the allocation.
    if (opts.mayReceive && client.queue.length > 0) client.queue = client.queue.filter((d) => receives(client, d));
    const n = Math.min(client.queue.length, maxEvents, deliverable(client.orgId));
    if (n <= 0) return [];
    const taken = n === client.queue.length ? client.queue : client.queue.slice(0, n);
    client.queue = n === client.queue.length ? [] : client.queue.slice(n);
    opts.limitsFor?.(client.orgId)?.deliveries.count(opts.now(), n);
    return taken.map(deliveryJson);
  }

  function allocationExceeded(client: StreamingClient, msg: Msg | undefined): Msg {
    return {
      clientId: client.id,
      advice: allocationAdvice,
      channel: '/meta/connect',
      ...(msg?.['id'] !== undefined ? { id: msg['id'] } : {}),
      error: E.EVENTS_DAILY_LIMIT,
      successful: false,
    };
  }

  /** Answers the held connect: events first, then the connect reply (or `finalReply` instead of it). */
  function answerHeld(client: StreamingClient, finalReply?: Msg): void {
    const held = client.held;
    if (!held) return;
    if (!finalReply && client.queue.length > 0 && deliverable(client.orgId) <= 0) {
      // Events are waiting but the allocation is spent: the held connect carries the error instead.
      forget(client, allocationExceeded(client, held.connectReply));
      return;
    }
    client.held = null;
    clearTimeout(held.timer);
    const parts = held.replies.map((r) => JSON.stringify(r));
    if (!finalReply) parts.push(...drain(client));
    parts.push(JSON.stringify(finalReply ?? held.connectReply));
    send(held.res, parts);
    if (!finalReply) registry.markIdle(client);
  }

  function forget(client: StreamingClient, finalReply?: Msg): void {
    answerHeld(client, finalReply ?? { ...client.held?.connectReply, successful: false, error: E.UNKNOWN_CLIENT, advice: unknownClientAdvice });
    registry.remove(client);
    client.unlisten?.();
    client.unlisten = null;
    client.queue = [];
    client.subscriptions.clear();
    pendingFlush.delete(client);
  }

  function listen(client: StreamingClient, bus: EventBus): void {
    if (client.unlisten) return;
    client.unlisten = bus.subscribe((event) => {
      let added = false;
      for (const ch of client.subscriptions) {
        if (channelReceives(ch, event.channel) && receives(client, { channel: ch, event })) {
          client.queue.push({ channel: ch, event });
          added = true;
        }
      }
      if (added && client.held) scheduleFlush(client);
    });
  }

  // ---- message handlers -------------------------------------------------------------

  function handshake(msg: Msg, authorization: string | undefined, cookies: Record<string, string>, setCookies: string[]): Msg {
    const auth = opts.authenticate(authorization, cookies);
    if (!auth) {
      const reason = authorization ? E.AUTH_INVALID : E.AUTH_REQUIRED;
      return {
        ext: { sfdc: { failureReason: reason }, replay: true, 'payload.format': true },
        advice: { reconnect: 'none' },
        ...base(msg, '/meta/handshake'),
        error: E.HANDSHAKE_DENIED,
        successful: false,
      };
    }
    const types = msg['supportedConnectionTypes'];
    if (Array.isArray(types) && !types.includes('long-polling')) {
      return { ...base(msg, '/meta/handshake'), error: E.invalidConnectionType(types.join(',')), successful: false };
    }
    if (registry.countOfOrg(auth.orgId) >= clientLimit(auth.orgId)) {
      // No advice: faye retries the handshake after its back-off, as a client should once others leave.
      return { ...base(msg, '/meta/handshake'), error: E.CONCURRENT_CLIENT_LIMIT, successful: false };
    }
    let browserId = cookies[BROWSER_COOKIE];
    if (!browserId) {
      browserId = randomBytes(12).toString('hex');
      setCookies.push(`${BROWSER_COOKIE}=${browserId}; Path=/; HttpOnly`);
      setCookies.push(`${LB_COOKIE}=!${randomBytes(24).toString('base64url')}; Path=/`);
    }
    const client: StreamingClient = {
      id: newClientId(),
      orgId: auth.orgId,
      userId: auth.userId,
      authorization,
      cookies,
      browserId,
      subscriptions: new Set(),
      queue: [],
      held: null,
      authInvalid: false,
      connected: false,
      unlisten: null,
      bus: undefined,
    };
    registry.add(client);
    log?.debug({ clientId: client.id, orgId: client.orgId }, 'streaming handshake');
    // Field set and order of Salesforce's reply (reference §1.2).
    return {
      ext: { replay: true, 'payload.format': true },
      minimumVersion: '1.0',
      clientId: client.id,
      supportedConnectionTypes: ['long-polling'],
      ...base(msg, '/meta/handshake'),
      version: '1.0',
      successful: true,
      reestablish: false,
    };
  }

  /**
   * Looks up the client of a message and checks what every non-handshake message needs:
   * a live client, a still-valid session, the session cookie, the same user.
   * Returns the client, or the error reply to send instead.
   */
  function clientFor(msg: Msg, channel: string, authorization: string | undefined, cookies: Record<string, string>): StreamingClient | Msg {
    const clientId = typeof msg['clientId'] === 'string' ? msg['clientId'] : undefined;
    const client = registry.get(clientId);
    if (!client) {
      return { ...base(msg, channel, clientId), error: E.UNKNOWN_CLIENT, successful: false, advice: unknownClientAdvice };
    }
    if (!client.authInvalid && authorization !== undefined && authorization !== client.authorization) {
      const auth = opts.authenticate(authorization, cookies);
      if (!auth) client.authInvalid = true;
      else if (auth.userId !== client.userId || auth.orgId !== client.orgId) {
        forget(client, undefined);
        return { ...base(msg, channel, client.id), advice: authInvalidAdvice, error: E.USER_MISMATCH, successful: false };
      } else {
        client.authorization = authorization;
        client.cookies = cookies;
      }
    }
    if (client.authInvalid) {
      const reply = { clientId: client.id, advice: authInvalidAdvice, ...base(msg, channel), error: E.AUTH_INVALID, successful: false };
      forget(client);
      return reply;
    }
    if (requireCookie && cookies[BROWSER_COOKIE] !== client.browserId) {
      return { ...base(msg, channel, client.id), error: E.missingCookie(client.id, BROWSER_COOKIE), successful: false };
    }
    opts.keepAlive?.(client.authorization);
    return client;
  }

  function subscribe(msg: Msg, client: StreamingClient): Msg {
    const sub = msg['subscription'];
    const reply = { ...base(msg, '/meta/subscribe', client.id), subscription: sub };
    const fail = (error: string): Msg => ({ ...reply, error, successful: false });
    if (typeof sub !== 'string' || sub === '') return fail(E.CHANNEL_NOT_SPECIFIED);
    if (!sub.startsWith('/')) return fail(E.CHANNEL_LEADING_SLASH);
    const bus = opts.busFor(client.orgId);
    if (!bus || sub.startsWith('/meta/') || !opts.channelAllowed(client.orgId, sub)) return fail(E.channelNotFound(sub));
    const refusal = opts.subscribeRefusal?.(client.orgId, client.userId, sub);
    if (refusal) return fail(refusal);

    // Without a replay map Salesforce starts at the tip; with one, the map must name the channel.
    let after: number | null = null;
    const ext = msg['ext'] as Msg | undefined;
    const map = ext && typeof ext === 'object' ? ext['replay'] : undefined;
    if (map !== null && typeof map === 'object' && !Array.isArray(map)) {
      const raw = Object.prototype.hasOwnProperty.call(map, sub) ? (map as Msg)[sub] : undefined;
      if (raw === undefined || raw === null) return fail(E.replayMapMismatch(sub, map as Msg));
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (value === -1) after = null;
      else if (value === -2) after = -Infinity;
      else if (Number.isInteger(value) && value >= 0 && bus.isValidReplayId(value)) after = value;
      else return fail(E.invalidReplayId(raw));
    }

    if (after !== null) {
      for (const event of bus.eventsAfter(after, sub)) client.queue.push({ channel: sub, event });
    }
    client.subscriptions.add(sub);
    client.bus = bus;
    listen(client, bus);
    if (client.held && client.queue.length > 0) scheduleFlush(client);
    return { ...reply, successful: true };
  }

  function unsubscribe(msg: Msg, client: StreamingClient): Msg {
    const sub = msg['subscription'];
    const reply = { ...base(msg, '/meta/unsubscribe', client.id), subscription: sub };
    if (typeof sub !== 'string' || sub === '') return { ...reply, error: E.CHANNEL_NOT_SPECIFIED, successful: false };
    client.subscriptions.delete(sub);
    if (client.queue.length > 0) client.queue = client.queue.filter((d) => d.channel !== sub);
    return { ...reply, successful: true };
  }

  // ---- HTTP ---------------------------------------------------------------------------

  function processBatch(messages: unknown[], req: Request, res: Response): void {
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    const cookies = parseCookies(req.headers.cookie);
    const replies: Msg[] = [];
    const setCookies: string[] = [];
    let connect: { msg: Msg; client: StreamingClient } | null = null;

    for (const raw of messages) {
      const msg: Msg = raw !== null && typeof raw === 'object' ? (raw as Msg) : {};
      const channel = typeof msg['channel'] === 'string' ? msg['channel'] : '';
      if (channel === '/meta/handshake') {
        replies.push(handshake(msg, authorization, cookies, setCookies));
        continue;
      }
      if (channel === '') {
        replies.push({ ...base(msg, channel), error: E.CHANNEL_NOT_SPECIFIED, successful: false });
        continue;
      }
      if (!channel.startsWith('/meta/')) {
        // The Streaming API delivers; clients cannot publish over CometD.
        replies.push({ ...base(msg, channel, msg['clientId'] as string | undefined), error: E.RESTRICTED_CHANNEL, successful: false });
        continue;
      }
      const found = clientFor(msg, channel, authorization, cookies);
      if (!('subscriptions' in found)) {
        replies.push(found);
        continue;
      }
      const client = found as StreamingClient;
      switch (channel) {
        case '/meta/connect': {
          const type = msg['connectionType'];
          if (type !== undefined && type !== 'long-polling') {
            replies.push({ ...base(msg, channel, client.id), error: E.invalidConnectionType(String(type)), successful: false });
          } else {
            connect = { msg, client };
          }
          break;
        }
        case '/meta/subscribe':
          replies.push(subscribe(msg, client));
          break;
        case '/meta/unsubscribe':
          replies.push(unsubscribe(msg, client));
          break;
        case '/meta/disconnect':
          forget(client, undefined);
          replies.push({ ...base(msg, channel, client.id), successful: true });
          break;
        default:
          replies.push({ ...base(msg, channel, client.id), error: E.channelNotFound(channel), successful: false });
      }
    }

    if (!connect || !registry.get(connect.client.id)) {
      send(res, replies.map((r) => JSON.stringify(r)), 200, setCookies);
      return;
    }

    const { msg, client } = connect;
    if (deliverable(client.orgId) <= 0) {
      // On a first connect as on a later one: the client is refused, its events stay in the bus for replay.
      if (client.held) answerHeld(client);
      const parts = replies.map((r) => JSON.stringify(r));
      parts.push(JSON.stringify(allocationExceeded(client, msg)));
      forget(client, undefined);
      send(res, parts, 200, setCookies);
      return;
    }
    const connectReply: Msg = { clientId: client.id, advice: connectAdvice, ...base(msg, '/meta/connect'), successful: true };
    // A newer connect supersedes a held one (the client gave up on it or batched a new one).
    if (client.held) answerHeld(client);
    const advice = msg['advice'] as Msg | undefined;
    const requested = advice && typeof advice['timeout'] === 'number' ? (advice['timeout'] as number) : connectTimeoutMs;
    const holdMs = Math.min(requested, connectTimeoutMs);
    const wasConnected = client.connected;
    client.connected = true;
    if (!wasConnected || holdMs <= 0 || client.queue.length > 0) {
      const parts = replies.map((r) => JSON.stringify(r));
      parts.push(...drain(client), JSON.stringify(connectReply));
      send(res, parts, 200, setCookies);
      registry.markIdle(client);
      return;
    }
    if (setCookies.length > 0) res.setHeader('Set-Cookie', setCookies);
    const timer = setTimeout(() => answerHeld(client), holdMs);
    client.held = { res, replies, connectReply, timer };
    registry.markBusy(client);
    res.on('close', () => {
      // The client went away mid-poll: keep its queue for the next connect and start its expiry clock.
      if (client.held?.res === res) {
        clearTimeout(client.held.timer);
        client.held = null;
        if (registry.get(client.id) === client) registry.markIdle(client);
      }
    });
  }

  function versionOf(req: Request): string | undefined {
    const fromParams = (req.params as Record<string, string | undefined> | undefined)?.['version'];
    if (fromParams) return fromParams;
    return /\/cometd\/([^/?]+)/.exec(req.originalUrl ?? req.url)?.[1];
  }

  function readBody(req: Request): Promise<unknown> {
    if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Object.keys(req.body).length > 0 || Array.isArray(req.body))) {
      return Promise.resolve(req.body);
    }
    if (req.readableEnded) return Promise.resolve(req.body);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(undefined);
        }
      });
      req.on('error', () => resolve(undefined));
    });
  }

  function handler(req: Request, res: Response): void {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_REQUEST_BYTES) {
      send(res, [JSON.stringify({ error: E.REQUEST_TOO_LARGE, successful: false })], 413);
      return;
    }
    const version = versionOf(req);
    const versionError = !version
      ? E.VERSION_MANDATORY
      : !/^\d+\.\d+$/.test(version) || Number(version) < MIN_API_VERSION
        ? E.VERSION_UNSUPPORTED
        : undefined;
    readBody(req).then(
      (body) => {
        const messages = Array.isArray(body) ? body : body !== null && typeof body === 'object' ? [body] : null;
        if (!messages || messages.length === 0) {
          send(res, [JSON.stringify({ error: '400::Invalid message', successful: false })], 400);
          return;
        }
        if (versionError) {
          send(res, messages.map((m) => JSON.stringify({ ...base((m ?? {}) as Msg, String((m as Msg)?.['channel'] ?? '')), error: versionError, successful: false })), 400);
          return;
        }
        processBatch(messages, req, res);
      },
      (err: unknown) => {
        log?.warn({ err }, 'streaming request failed');
        if (!res.headersSent) res.status(500).end();
      },
    );
  }

  return {
    handler,
    dropClients(orgId: string): number {
      const clients = registry.ofOrg(orgId);
      for (const c of clients) forget(c);
      log?.info({ orgId, dropped: clients.length }, 'streaming clients dropped');
      return clients.length;
    },
    enforceAllocation(orgId: string): number {
      if (deliverable(orgId) > 0) return 0;
      // A client between two connects learns it on its next one.
      const held = registry.ofOrg(orgId).filter((c) => c.held);
      for (const c of held) forget(c, allocationExceeded(c, c.held!.connectReply));
      return held.length;
    },
    revalidate(): void {
      for (const c of [...registry.all()]) {
        const auth = opts.authenticate(c.authorization, c.cookies);
        if (auth && auth.userId === c.userId && auth.orgId === c.orgId) continue;
        c.authInvalid = true;
        if (c.held) {
          const r = c.held.connectReply;
          forget(c, { clientId: c.id, advice: authInvalidAdvice, channel: '/meta/connect', ...(r['id'] !== undefined ? { id: r['id'] } : {}), error: E.AUTH_INVALID, successful: false });
        }
      }
    },
    stats(orgId: string) {
      return { streamingClients: registry.countOfOrg(orgId) };
    },
    close(): void {
      for (const c of [...registry.all()]) answerHeld(c);
      registry.close();
    },
  };
}
