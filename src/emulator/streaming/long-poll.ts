import type { Response } from 'express';
import { channelReceives, eventDataJson, type EventBus } from './bus.js';
import * as E from './errors.js';
import type { CometdServerOptions } from './options.js';
import type { ClientRegistry, QueuedDelivery, StreamingClient } from './registry.js';
import { allocationAdvice, send, unknownClientAdvice, type Msg } from './wire.js';

function deliveryJson(d: QueuedDelivery): string {
  return `{"data":${eventDataJson(d.event)},"channel":${JSON.stringify(d.channel)}}`;
}

/** The reply that ends a client whose org's delivery allocation is spent. */
export function allocationExceeded(client: StreamingClient, msg: Msg | undefined): Msg {
  return {
    clientId: client.id,
    advice: allocationAdvice,
    channel: '/meta/connect',
    ...(msg?.['id'] !== undefined ? { id: msg['id'] } : {}),
    error: E.EVENTS_DAILY_LIMIT,
    successful: false,
  };
}

/**
 * Long-poll holding: each client's queue of events, its held /meta/connect,
 * and answering that connect when events arrive, when it times out, or when
 * the client is forgotten.
 */
export class LongPolls {
  // Events of one tick are gathered and each waiting client is answered once, not per event.
  readonly #pendingFlush = new Set<StreamingClient>();
  #flushScheduled = false;

  constructor(
    private readonly opts: CometdServerOptions,
    private readonly registry: ClientRegistry,
    private readonly maxEvents: number,
    /** Events the org may still deliver now; Infinity without an allocation. */
    private readonly deliverable: (orgId: string) => number,
  ) {}

  scheduleFlush(client: StreamingClient): void {
    this.#pendingFlush.add(client);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      for (const c of this.#pendingFlush) if (c.held && c.queue.length > 0) this.answerHeld(c);
      this.#pendingFlush.clear();
    });
  }

  /** Takes what the next reply carries: at most `maxEvents`, and no more than the org's allocation has left. */
  drain(client: StreamingClient): string[] {
    // Withheld events are dropped, not delayed, and not counted against the allocation.
    if (this.opts.mayReceive && client.queue.length > 0) client.queue = client.queue.filter((d) => this.#receives(client, d));
    const n = Math.min(client.queue.length, this.maxEvents, this.deliverable(client.orgId));
    if (n <= 0) return [];
    const taken = n === client.queue.length ? client.queue : client.queue.slice(0, n);
    client.queue = n === client.queue.length ? [] : client.queue.slice(n);
    this.opts.limitsFor?.(client.orgId)?.deliveries.count(this.opts.now(), n);
    return taken.map(deliveryJson);
  }

  /** Answers the held connect: events first, then the connect reply (or `finalReply` instead of it). */
  answerHeld(client: StreamingClient, finalReply?: Msg): void {
    const held = client.held;
    if (!held) return;
    if (!finalReply && client.queue.length > 0 && this.deliverable(client.orgId) <= 0) {
      // Events are waiting but the allocation is spent: the held connect carries the error instead.
      this.forget(client, allocationExceeded(client, held.connectReply));
      return;
    }
    client.held = null;
    clearTimeout(held.timer);
    const parts = held.replies.map((r) => JSON.stringify(r));
    if (!finalReply) parts.push(...this.drain(client));
    parts.push(JSON.stringify(finalReply ?? held.connectReply));
    send(held.res, parts);
    if (!finalReply) this.registry.markIdle(client);
  }

  /** Ends a client: its held connect answered (with `finalReply`, or "unknown client"), its subscriptions gone. */
  forget(client: StreamingClient, finalReply?: Msg): void {
    this.answerHeld(client, finalReply ?? { ...client.held?.connectReply, successful: false, error: E.UNKNOWN_CLIENT, advice: unknownClientAdvice });
    this.registry.remove(client);
    client.unlisten?.();
    client.unlisten = null;
    client.queue = [];
    client.subscriptions.clear();
    this.#pendingFlush.delete(client);
  }

  /** Queues the bus's events for the client's subscriptions from now on. */
  listen(client: StreamingClient, bus: EventBus): void {
    if (client.unlisten) return;
    client.unlisten = bus.subscribe((event) => {
      let added = false;
      for (const ch of client.subscriptions) {
        if (channelReceives(ch, event.channel) && this.#receives(client, { channel: ch, event })) {
          client.queue.push({ channel: ch, event });
          added = true;
        }
      }
      if (added && client.held) this.scheduleFlush(client);
    });
  }

  /** Holds a connect until events arrive or `holdMs` passes. */
  hold(client: StreamingClient, res: Response, replies: Msg[], connectReply: Msg, holdMs: number): void {
    const timer = setTimeout(() => this.answerHeld(client), holdMs);
    client.held = { res, replies, connectReply, timer };
    this.registry.markBusy(client);
    res.on('close', () => {
      // The client went away mid-poll: keep its queue for the next connect and start its expiry clock.
      if (client.held?.res === res) {
        clearTimeout(client.held.timer);
        client.held = null;
        if (this.registry.get(client.id) === client) this.registry.markIdle(client);
      }
    });
  }

  /** Whether the client's user may be sent this event now (permissions are checked at delivery). */
  #receives(client: StreamingClient, d: QueuedDelivery): boolean {
    return this.opts.mayReceive?.(client.orgId, client.userId, d.channel, d.event) ?? true;
  }
}
