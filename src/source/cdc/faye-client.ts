import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { delayFor, type RetryPolicy } from '../../core/retry.js';
import { ForbiddenDestinationError, isPublicAddress } from '../../net/egress.js';
import type { SalesforceEgress } from '../../net/salesforce-egress.js';

/** A Bayeux message as faye hands it to extensions. */
export interface BayeuxMessage {
  id?: string;
  channel?: string;
  clientId?: string;
  subscription?: string;
  successful?: boolean;
  error?: string;
  data?: unknown;
  advice?: { reconnect?: string; interval?: number; timeout?: number };
  ext?: Record<string, unknown> & { sfdc?: { failureReason?: string } };
}

type Next = (message: BayeuxMessage | null) => void;

export interface FayeExtension {
  incoming?(message: BayeuxMessage, next: Next): void;
  outgoing?(message: BayeuxMessage, next: Next): void;
}

/** faye's Subscription: a thenable that settles when the server answered the subscribe. */
export interface FayeSubscription {
  then(onOk?: () => void, onErr?: (err: unknown) => void): Promise<void>;
  cancel(): void;
}

/** The part of faye's Client this module uses (faye ships no types). */
export interface FayeClient {
  setHeader(name: string, value: string): void;
  addExtension(extension: FayeExtension): void;
  disable(feature: string): void;
  /** `true` as the listener re-sends the subscribe without adding a listener. */
  subscribe(channel: string, listener: ((data: unknown) => void) | true): FayeSubscription;
  disconnect(): unknown;
  bind(event: 'transport:up' | 'transport:down', listener: () => void): void;
}

interface FayeModule {
  Client: new (endpoint: string, options?: Record<string, unknown>) => FayeClient;
}

const faye = createRequire(import.meta.url)('faye') as FayeModule;

/**
 * faye's per-message scheduler, with the retry policy's backoff instead of a fixed
 * `retry` interval: a transport error re-sends the failed message after
 * delayFor(policy, attempt). faye wants seconds.
 */
function schedulerFor(policy: RetryPolicy) {
  return class BackoffScheduler {
    attempts = 0;
    constructor(
      readonly message: unknown,
      private readonly options: { timeout: number; interval: number; attempts?: number; deadline?: number },
    ) {}
    getTimeout(): number {
      return this.options.timeout;
    }
    getInterval(): number {
      return delayFor(policy, Math.max(1, this.attempts)) / 1000;
    }
    isDeliverable(): boolean {
      const { attempts, deadline } = this.options;
      if (attempts !== undefined && this.attempts >= attempts) return false;
      return deadline === undefined || Date.now() <= deadline;
    }
    send(): void {
      this.attempts += 1;
    }
    succeed(): void {}
    fail(): void {}
    abort(): void {}
  };
}

/**
 * faye opens its own sockets (Node's http/https, no agent option). What it does take is `tls`,
 * options it hands to https.request for an https endpoint: a `lookup` there makes the address
 * checked the address connected to. An IP literal never reaches a lookup, so it is checked
 * here; a plain-http endpoint (only a host the operator listed) is checked once, here, for
 * an IP literal, and its name is resolved by faye unguarded. faye follows no redirect: a
 * 3xx answer is no Bayeux reply and fails like any transport error.
 */
function guardOptions(endpoint: string, egress: SalesforceEgress | undefined): Record<string, unknown> {
  if (!egress) return {};
  const url = egress.hosts.check(endpoint, 'streaming endpoint');
  if (egress.allowPrivate) return {};
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !isPublicAddress(host)) throw new ForbiddenDestinationError(`streaming endpoint: ${host} is a private or reserved address`);
  return url.protocol === 'https:' && egress.lookup ? { tls: { lookup: egress.lookup } } : {};
}

/** Throws ForbiddenDestinationError when `egress` does not allow the endpoint. */
export function createFayeClient(endpoint: string, token: string, policy: RetryPolicy, egress?: SalesforceEgress): FayeClient {
  const client = new faye.Client(endpoint, {
    scheduler: schedulerFor(policy),
    // Seconds before faye retries a handshake that failed with a retry advice.
    retry: Math.max(0.05, Math.min(policy.maxDelayMs, 5_000) / 1000),
    ...guardOptions(endpoint, egress),
  });
  // Salesforce offers long-polling only; without this faye probes a WebSocket on every handshake.
  client.disable('websocket');
  client.disable('in-process');
  client.setHeader('Authorization', `OAuth ${token}`);
  return client;
}

/**
 * Disconnects and makes sure the client cannot come back: faye's dispatcher re-sends
 * a timed-out request by itself (bypassing extensions), so a client abandoned on a
 * half-open connection would keep polling. Closing its dispatcher (the one private
 * field touched, faye pinned at 1.4.3) removes the transport those re-sends need.
 */
export function closeFayeClient(client: FayeClient): void {
  try {
    client.disconnect();
  } finally {
    setImmediate(() => (client as unknown as { _dispatcher?: { close?: () => void } })._dispatcher?.close?.());
  }
}
