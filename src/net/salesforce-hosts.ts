import { splitList } from '../core/comma-list.js';
import { ForbiddenDestinationError } from './egress.js';

/**
 * Salesforce's own domains, any subdomain of each: where a login URL, an instance URL and
 * an identity URL may point without the operator's say-so (over https only).
 * - salesforce.com: login., test., My Domain (`*.my.salesforce.com`, sandboxes
 *   `*.sandbox.my.salesforce.com`) and instance hosts (`na1.salesforce.com`);
 * - force.com, cloudforce.com: enhanced and legacy org hosts;
 * - salesforce.mil, cloudforce.mil: Government Cloud Plus - Defense;
 * - sfcrmproducts.cn, sfcrmapps.cn: Salesforce on Alibaba Cloud.
 */
export const SALESFORCE_DOMAINS: readonly string[] = [
  'salesforce.com',
  'force.com',
  'cloudforce.com',
  'salesforce.mil',
  'cloudforce.mil',
  'sfcrmproducts.cn',
  'sfcrmapps.cn',
];

/** `*` (any host), `*.example.com` (its subdomains) or an exact host name / IP literal. */
const PATTERN = /^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\]|[0-9a-f:.]+)$/;

/** Parses FORCEHOOK_SALESFORCE_HOSTS (`*.example.com,127.0.0.1`), or names the first entry that is no host pattern. */
export function parseHostPatterns(raw: string): { patterns: string[] } | { bad: string } {
  const patterns = splitList(raw.toLowerCase());
  const bad = patterns.find((p) => !PATTERN.test(p));
  return bad === undefined ? { patterns: patterns.map(unbracket) } : { bad };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function matches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

/**
 * Which hosts forcehook sends an org's credentials to. A connection names its login URL, and
 * the token endpoint answers the instance and identity URLs: each is outside input, so each
 * is held to this list before anything is sent there, on every refresh.
 */
export class SalesforceHosts {
  readonly operatorPatterns: readonly string[];

  constructor(operatorPatterns: readonly string[] = []) {
    this.operatorPatterns = operatorPatterns.map((p) => unbracket(p.toLowerCase()));
  }

  isSalesforce(host: string): boolean {
    const h = unbracket(host.toLowerCase());
    return SALESFORCE_DOMAINS.some((d) => h.endsWith(`.${d}`));
  }

  isOperatorAllowed(host: string): boolean {
    const h = unbracket(host.toLowerCase());
    return this.operatorPatterns.some((p) => matches(p, h));
  }

  /** Whether `url` may receive an org's credentials: Salesforce's own over https, or a host the operator allows. */
  allows(url: URL): boolean {
    if (url.username || url.password) return false;
    if (this.isOperatorAllowed(url.hostname)) return url.protocol === 'https:' || url.protocol === 'http:';
    return url.protocol === 'https:' && this.isSalesforce(url.hostname);
  }

  /** `raw` as a URL, or a 400 naming `field` and why. */
  check(raw: string, field: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ForbiddenDestinationError(`${field}: not a valid URL`);
    }
    if (!this.allows(url)) {
      throw new ForbiddenDestinationError(
        `${field}: '${url.protocol}//${url.host}' is not a Salesforce host over https (FORCEHOOK_SALESFORCE_HOSTS lists other hosts forcehook may call)`,
      );
    }
    return url;
  }

  /**
   * Whether the identity URL a token endpoint answered belongs with the login it came from:
   * both on Salesforce's own domains (an org's login and identity hosts differ there: My Domain,
   * login.salesforce.com), or else the very same origin. A token endpoint on an operator-allowed
   * host can thus name only itself, never a Salesforce org's identity.
   */
  sameFamily(login: URL, identity: URL): boolean {
    const sf = (u: URL) => u.protocol === 'https:' && this.isSalesforce(u.hostname);
    if (sf(login) || sf(identity)) return sf(login) && sf(identity);
    return login.origin === identity.origin;
  }
}
