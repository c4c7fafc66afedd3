import type { Logger } from 'pino';
import type { EventBus, StreamEvent } from './bus.js';

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
