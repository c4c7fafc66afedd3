/**
 * The CometD server, composed of its parts (each a module of its own):
 *   http.ts        the request: size, API version, body
 *   batch.ts       one POST's messages, each by its channel
 *   handshake.ts   /meta/handshake: a new client
 *   auth.ts        what every later message needs: a live client, its session, its cookie
 *   subscribe.ts   /meta/subscribe and /meta/unsubscribe (replay.ts: where a subscription starts)
 *   connect.ts     /meta/connect: answered at once, or held
 *   long-poll.ts   queued events, the held connect, forgetting a client
 *   registry.ts    the live clients and their expiry
 */
import type { Request, Response } from 'express';
import { revalidate } from './auth.js';
import type { CometdContext } from './context.js';
import { cometdHandler } from './http.js';
import { allocationExceeded, LongPolls } from './long-poll.js';
import type { CometdServerOptions } from './options.js';
import { ClientRegistry } from './registry.js';

export type { CometdServerOptions, OrgStreamingLimits, StreamingAuth } from './options.js';
export { parseCookies } from './wire.js';

export interface CometdServer {
  handler: (req: Request, res: Response) => void;
  dropClients(orgId: string): number;
  /** Ends the clients of an org whose delivery allocation is spent (the error on their held connect). */
  enforceAllocation(orgId: string): number;
  revalidate(): void;
  stats(orgId: string): { streamingClients: number };
  close(): void;
}

export function createCometdServer(opts: CometdServerOptions): CometdServer {
  const log = opts.logger;
  const maxClientsPerOrg = opts.maxClientsPerOrg ?? 2000;
  const registry = new ClientRegistry(opts.clientTimeoutMs ?? 40_000, (c) => {
    log?.debug({ clientId: c.id, orgId: c.orgId }, 'streaming client expired');
    polls.forget(c);
  });
  /** Events the org may still deliver now; Infinity without an allocation. */
  const deliverable = (orgId: string): number => opts.limitsFor?.(orgId)?.deliveries.remaining(opts.now()) ?? Infinity;
  const polls = new LongPolls(opts, registry, opts.maxEventsPerConnect ?? 1000, deliverable);
  const ctx: CometdContext = {
    opts,
    log,
    registry,
    polls,
    connectTimeoutMs: opts.connectTimeoutMs ?? 110_000,
    requireCookie: opts.requireSessionCookie ?? true,
    clientLimit: (orgId) => opts.limitsFor?.(orgId)?.maxClients ?? maxClientsPerOrg,
    deliverable,
  };

  return {
    handler: cometdHandler(ctx),
    dropClients(orgId: string): number {
      const clients = registry.ofOrg(orgId);
      for (const c of clients) polls.forget(c);
      log?.info({ orgId, dropped: clients.length }, 'streaming clients dropped');
      return clients.length;
    },
    enforceAllocation(orgId: string): number {
      if (deliverable(orgId) > 0) return 0;
      // A client between two connects learns it on its next one.
      const held = registry.ofOrg(orgId).filter((c) => c.held);
      for (const c of held) polls.forget(c, allocationExceeded(c, c.held!.connectReply));
      return held.length;
    },
    revalidate: () => revalidate(ctx),
    stats(orgId: string) {
      return { streamingClients: registry.countOfOrg(orgId) };
    },
    close(): void {
      for (const c of [...registry.all()]) polls.answerHeld(c);
      registry.close();
    },
  };
}
