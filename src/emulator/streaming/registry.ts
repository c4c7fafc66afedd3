import { randomBytes } from 'node:crypto';
import type { Response } from 'express';
import type { EventBus, StreamEvent } from './bus.js';

export interface QueuedDelivery {
  /** The subscribed channel the message goes out on (may differ from event.channel for /data/ChangeEvents). */
  channel: string;
  event: StreamEvent;
}

export interface HeldConnect {
  res: Response;
  /** Replies to the other messages of the same POST, sent together with the connect reply. */
  replies: object[];
  connectReply: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

export interface StreamingClient {
  id: string;
  orgId: string;
  userId: string;
  authorization: string | undefined;
  cookies: Record<string, string>;
  browserId: string;
  subscriptions: Set<string>;
  queue: QueuedDelivery[];
  held: HeldConnect | null;
  /** Set by revalidate(): the next connect answers 401 with reconnect none. */
  authInvalid: boolean;
  /** CometD answers the first /meta/connect at once; later ones are held. */
  connected: boolean;
  unlisten: (() => void) | null;
  bus: EventBus | undefined;
}

/** Same look as Salesforce client ids: 26 lowercase base36 characters. */
export function newClientId(): string {
  const bytes = randomBytes(26);
  let id = '';
  for (const b of bytes) id += (b % 36).toString(36);
  return id;
}

/**
 * All live clients, indexed by id and by org. Clients that are not holding a connect sit in
 * `idle` in the order they went idle; since the deadline is the same for all, the sweeper
 * only looks at the front of that map and never scans live clients.
 */
export class ClientRegistry {
  private readonly byId = new Map<string, StreamingClient>();
  private readonly byOrg = new Map<string, Set<StreamingClient>>();
  private readonly idle = new Map<StreamingClient, number>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly clientTimeoutMs: number,
    private readonly onExpire: (client: StreamingClient) => void,
  ) {}

  add(client: StreamingClient): void {
    this.byId.set(client.id, client);
    let set = this.byOrg.get(client.orgId);
    if (!set) this.byOrg.set(client.orgId, (set = new Set()));
    set.add(client);
    this.markIdle(client);
    this.ensureSweeper();
  }

  get(id: unknown): StreamingClient | undefined {
    return typeof id === 'string' ? this.byId.get(id) : undefined;
  }

  remove(client: StreamingClient): void {
    if (this.byId.get(client.id) !== client) return;
    this.byId.delete(client.id);
    this.idle.delete(client);
    const set = this.byOrg.get(client.orgId);
    if (set) {
      set.delete(client);
      if (set.size === 0) this.byOrg.delete(client.orgId);
    }
    if (this.byId.size === 0) this.stopSweeper();
  }

  /** The 40 s reconnect deadline runs while the client holds no connect. */
  markIdle(client: StreamingClient): void {
    this.idle.delete(client);
    this.idle.set(client, Date.now() + this.clientTimeoutMs);
  }

  markBusy(client: StreamingClient): void {
    this.idle.delete(client);
  }

  ofOrg(orgId: string): StreamingClient[] {
    return [...(this.byOrg.get(orgId) ?? [])];
  }

  countOfOrg(orgId: string): number {
    return this.byOrg.get(orgId)?.size ?? 0;
  }

  all(): IterableIterator<StreamingClient> {
    return this.byId.values();
  }

  size(): number {
    return this.byId.size;
  }

  sweep(nowMs = Date.now()): void {
    for (const [client, deadline] of this.idle) {
      if (deadline > nowMs) break;
      this.idle.delete(client);
      this.onExpire(client);
    }
  }

  close(): void {
    this.stopSweeper();
  }

  private ensureSweeper(): void {
    if (this.sweeper) return;
    const every = Math.max(50, Math.min(5000, Math.floor(this.clientTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
