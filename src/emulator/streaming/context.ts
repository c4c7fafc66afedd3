import type { Logger } from 'pino';
import type { LongPolls } from './long-poll.js';
import type { CometdServerOptions } from './options.js';
import type { ClientRegistry } from './registry.js';

/** What the message handlers of one CometD server share. */
export interface CometdContext {
  opts: CometdServerOptions;
  log: Logger | undefined;
  registry: ClientRegistry;
  polls: LongPolls;
  /** How long a /meta/connect is held at most, and advice.timeout. */
  connectTimeoutMs: number;
  requireCookie: boolean;
  /** Concurrent clients the org may have. */
  clientLimit(orgId: string): number;
  /** Events the org may still deliver now; Infinity without an allocation. */
  deliverable(orgId: string): number;
}
