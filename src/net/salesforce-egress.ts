import type { Dispatcher } from 'undici';
import { createEgressAgent, guardedLookup } from './egress.js';
import { SalesforceHosts } from './salesforce-hosts.js';

/**
 * Everything forcehook needs to call Salesforce safely: which hosts may receive an org's
 * credentials (`hosts`), and a dispatcher that checks each address at connect time (the
 * address checked is the address connected to, so DNS cannot change between the two) and
 * never follows a redirect. Every call to Salesforce (token endpoint, identity URL, REST
 * through jsforce, the Streaming API through faye) goes through one of these.
 */
export interface SalesforceEgress {
  readonly hosts: SalesforceHosts;
  readonly dispatcher: Dispatcher;
  /** FORCEHOOK_ALLOW_PRIVATE_NETWORKS: the address check is off. */
  readonly allowPrivate: boolean;
  /** For clients that open their own sockets (faye): a dns.lookup that yields public addresses only; undefined when private networks are allowed. */
  readonly lookup: typeof guardedLookup | undefined;
}

export function createSalesforceEgress(opts: { hosts?: readonly string[]; allowPrivate: boolean; dispatcher?: Dispatcher }): SalesforceEgress {
  return {
    hosts: new SalesforceHosts(opts.hosts ?? []),
    dispatcher: opts.dispatcher ?? createEgressAgent({ allowPrivate: opts.allowPrivate }),
    allowPrivate: opts.allowPrivate,
    lookup: opts.allowPrivate ? undefined : guardedLookup,
  };
}

/** At most this much of an upstream answer reaches a log line or an API caller. */
const SNIPPET_CHARS = 200;

/**
 * A short, printable excerpt of what a remote host answered. The host is outside input
 * (a login URL an API client gave): its answer must not travel back whole to the caller,
 * who could otherwise read whatever the host was made to fetch.
 */
export function snippet(text: string, max = SNIPPET_CHARS): string {
  const flat = text
    .replace(/\p{Cc}+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
