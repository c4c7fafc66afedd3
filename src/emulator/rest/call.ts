/**
 * The REST surface is a synchronous function of one call, so that composite
 * can run its subrequests through exactly the same handlers, inside one
 * transaction, without HTTP round trips.
 */
import type { Emulator } from '../emulator.js';
import type { Org } from '../org.js';
import type { Transaction } from '../transaction.js';

export interface RestCall {
  em: Emulator;
  org: Org;
  /** '59.0' */
  version: string;
  method: string;
  /** Path segments after `/services/data/vNN.N/`, URL-decoded. */
  segments: string[];
  query: URLSearchParams;
  body: unknown;
  header(name: string): string | undefined;
  /** `client=` of Sforce-Call-Options, for changeOrigin. */
  client: string | undefined;
  /** Set by composite: every subrequest writes into its transaction. */
  txn?: Transaction;
}

export interface RestResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const MIN_VERSION = 20;
export const MAX_VERSION = 66;

/** 'v59.0' → '59.0'; undefined for anything Salesforce answers 404 to. */
export function parseVersion(segment: string | undefined): string | undefined {
  const m = /^v(\d{2})\.0$/.exec(segment ?? '');
  if (!m) return undefined;
  const major = Number(m[1]);
  return major >= MIN_VERSION && major <= MAX_VERSION ? `${major}.0` : undefined;
}

export function callOptionsClient(header: string | undefined): string | undefined {
  const m = /(?:^|[;,\s])client=([^;,\s]+)/.exec(header ?? '');
  return m?.[1];
}
