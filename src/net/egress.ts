import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';
import { ForcehookError } from '../core/errors.js';

/**
 * Egress policy: the service calls only public unicast addresses (webhook
 * receivers, Salesforce login and instance hosts) unless the operator allows
 * private networks. Loopback, RFC 1918, link-local (incl. cloud metadata at
 * 169.254.169.254), CGNAT, multicast, reserved and IPv4-mapped forms of those
 * are refused.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  return ipaddr.process(ip).range() === 'unicast';
}

export class ForbiddenDestinationError extends ForcehookError {
  constructor(message: string) {
    super('FORBIDDEN_DESTINATION', message, { status: 400, retriable: false });
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Checks a URL before it is stored (fast feedback for the user). Not the
 * security control on its own: DNS can change, so the connect-time guard in
 * `createEgressAgent` checks again on every connection.
 */
export async function assertAllowedUrl(raw: string, opts: { allowPrivate: boolean; field: string; httpsOnly?: boolean }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ForbiddenDestinationError(`${opts.field}: not a valid URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (opts.allowPrivate || !opts.httpsOnly))) {
    throw new ForbiddenDestinationError(`${opts.field}: only https URLs are allowed`);
  }
  if (url.username || url.password) throw new ForbiddenDestinationError(`${opts.field}: credentials in the URL are not allowed`);
  if (opts.allowPrivate) return url;
  const host = stripBrackets(url.hostname);
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw new ForbiddenDestinationError(`${opts.field}: host '${host}' does not resolve`);
    }
  }
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad !== undefined) {
    throw new ForbiddenDestinationError(
      `${opts.field}: '${host}' resolves to ${bad}, a private or reserved address (set FORCEHOOK_ALLOW_PRIVATE_NETWORKS=true to allow)`,
    );
  }
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that only ever returns public addresses: the address checked is the address connected to. */
export function guardedLookup(hostname: string, options: object, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = (addresses as LookupAddress[]).filter((a) => isPublicAddress(a.address));
    if (allowed.length === 0) {
      const e = new ForbiddenDestinationError(`'${hostname}' resolves only to private or reserved addresses`) as unknown as NodeJS.ErrnoException;
      return callback(e, []);
    }
    if ((options as { all?: boolean }).all) return callback(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
}

export interface EgressAgentOptions {
  allowPrivate: boolean;
  connectTimeoutMs?: number;
  connections?: number;
}

/**
 * An undici Agent that enforces the egress policy at connect time. IP-literal
 * hosts never reach `lookup` in net.connect, so they are checked explicitly.
 */
export function createEgressAgent(opts: EgressAgentOptions): Agent {
  const timeout = opts.connectTimeoutMs ?? 5_000;
  if (opts.allowPrivate) return new Agent({ connect: { timeout }, connections: opts.connections ?? null });
  const connector = buildConnector({ timeout, lookup: guardedLookup as never });
  return new Agent({
    connections: opts.connections ?? null,
    connect(options, callback) {
      const host = stripBrackets(options.hostname);
      if (isIP(host) && !isPublicAddress(host)) {
        callback(new ForbiddenDestinationError(`${host} is a private or reserved address`), null);
        return;
      }
      connector(options, callback);
    },
  });
}
