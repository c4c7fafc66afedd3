/**
 * REST calls polling makes, through the session's jsforce Connection (which refreshes the token on
 * INVALID_SESSION_ID through the session's single flight and records Sforce-Limit-Info). Every call
 * goes through `call` so that the cost of a cycle is counted, not estimated, and so that a request
 * the org never answers (slow-requests) times out instead of stalling the poller forever.
 */
import { ForcehookError, TerminalError, TransientError } from '../core/errors.js';
import { withTimeout } from '../core/timeout.js';
import type { OrgSession } from './session.js';
import { snippet } from '../net/salesforce-egress.js';
import { dataPath } from './soql.js';

/** Salesforce allows 25 subrequests per composite, of which at most 5 queries. */
export const COMPOSITE_MAX_SUBREQUESTS = 25;
export const COMPOSITE_MAX_QUERIES = 5;

export interface SubRequest {
  referenceId: string;
  url: string;
}

export interface SubResponse {
  referenceId: string;
  httpStatusCode: number;
  body: unknown;
}

export interface QueryPage {
  totalSize?: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

export class CallCounter {
  calls = 0;
}

/**
 * Salesforce refused the request itself: asking again the same way gets the same answer. A query too
 * wide for the URI (414, or 431 with the headers) or too complex once expanded (QUERY_TOO_COMPLICATED)
 * is among them: only asking differently (fewer fields per query, field-plan.ts) helps.
 */
const TERMINAL_CODES = new Set([
  'MALFORMED_QUERY',
  'INVALID_FIELD',
  'INVALID_TYPE',
  'NOT_FOUND',
  'QUERY_TOO_COMPLICATED',
  'INVALID_QUERY_FILTER_OPERATOR',
  'INVALID_QUERY_LOCATOR',
  'ERROR_HTTP_400',
  'ERROR_HTTP_404',
  'ERROR_HTTP_414',
  'ERROR_HTTP_431',
]);
/** Errors that pass: Salesforce's servers busy or failing (its 500 is UNKNOWN_EXCEPTION), a lock held, a slow query. */
const TRANSIENT_CODES = new Set([
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'UNABLE_TO_LOCK_ROW',
  'QUERY_TIMEOUT',
  'REQUEST_RUNNING_TOO_LONG',
  'INVALID_SESSION_ID',
  'ERROR_HTTP_408',
  'ERROR_HTTP_420',
  'ERROR_HTTP_429',
  'ERROR_HTTP_500',
  'ERROR_HTTP_502',
  'ERROR_HTTP_503',
  'ERROR_HTTP_504',
]);

/** jsforce errors carry Salesforce's errorCode; map it into our hierarchy once, here. */
export function fromSalesforceError(err: unknown): ForcehookError {
  if (err instanceof ForcehookError) return err;
  const e = err as { errorCode?: unknown; message?: unknown; name?: unknown };
  const sfCode = typeof e?.errorCode === 'string' ? e.errorCode : undefined;
  const code = snippet(sfCode ?? (typeof e?.name === 'string' ? e.name : 'UNKNOWN'), 60);
  // The answer of a host the org named: only a short, printable excerpt may reach logs and API callers.
  const message = snippet(`${code}: ${typeof e?.message === 'string' ? e.message : String(err)}`);
  if (code === 'REQUEST_LIMIT_EXCEEDED') return new TransientError('SALESFORCE_LIMIT', message, { cause: err, details: { errorCode: code } });
  if (TERMINAL_CODES.has(code)) return new TerminalError('SALESFORCE', message, { cause: err, details: { errorCode: code } });
  // Network failures carry no Salesforce code and pass; a code nobody listed is tried as often as the
  // caller's policy allows, never for ever.
  const unclassified = sfCode !== undefined && !TRANSIENT_CODES.has(code);
  return new TransientError('SALESFORCE', message, { cause: err, details: { errorCode: code, ...(unclassified ? { unclassified: true } : {}) } });
}

export function errorCodeOf(err: unknown): string | undefined {
  const d = err instanceof ForcehookError ? (err.details as { errorCode?: unknown } | undefined) : undefined;
  return typeof d?.errorCode === 'string' ? d.errorCode : undefined;
}

export const isLimitError = (err: unknown): boolean => errorCodeOf(err) === 'REQUEST_LIMIT_EXCEEDED';

export interface RestOptions {
  timeoutMs?: number;
  counter?: CallCounter;
}

export const DEFAULT_TIMEOUT_MS = 120_000;

export async function call<T>(session: OrgSession, req: { method: 'GET' | 'POST'; url: string; body?: unknown }, opts: RestOptions = {}): Promise<T> {
  const conn = session.jsforce();
  if (opts.counter) opts.counter.calls++;
  const request =
    req.method === 'GET'
      ? conn.request<T>(req.url)
      : conn.request<T>({ method: 'POST', url: req.url, body: JSON.stringify(req.body), headers: { 'content-type': 'application/json' } });
  try {
    return await withTimeout(Promise.resolve(request), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, `${req.method} ${req.url.split('?')[0]}`);
  } catch (err) {
    throw fromSalesforceError(err);
  }
}

/** One composite request: counts as ONE API call however many subrequests it carries. */
export async function composite(session: OrgSession, subrequests: SubRequest[], opts: RestOptions = {}): Promise<Map<string, SubResponse>> {
  if (subrequests.length === 0) return new Map();
  if (subrequests.length > COMPOSITE_MAX_SUBREQUESTS) throw new ForcehookError('INTERNAL', 'composite: too many subrequests');
  const body = { allOrNone: false, compositeRequest: subrequests.map((s) => ({ method: 'GET', url: s.url, referenceId: s.referenceId })) };
  const res = await call<{ compositeResponse?: SubResponse[] }>(session, { method: 'POST', url: `${dataPath(session.apiVersion)}/composite`, body }, opts);
  if (!res || !Array.isArray(res.compositeResponse)) throw new TransientError('SALESFORCE', 'composite: unexpected response shape');
  const out = new Map<string, SubResponse>();
  for (const r of res.compositeResponse) out.set(r.referenceId, r);
  return out;
}

/** A failed subresponse as an error (its body is Salesforce's error array). */
export function subError(r: SubResponse | undefined, what: string): ForcehookError | undefined {
  if (!r) return new TransientError('SALESFORCE', `${what}: no subresponse`);
  if (r.httpStatusCode >= 200 && r.httpStatusCode < 300) return undefined;
  const first = Array.isArray(r.body) ? (r.body[0] as { errorCode?: string; message?: string } | undefined) : undefined;
  return fromSalesforceError({ errorCode: first?.errorCode ?? `ERROR_HTTP_${r.httpStatusCode}`, message: `${what}: ${first?.message ?? ''}` });
}

export function asQueryPage(body: unknown, what: string): QueryPage {
  const b = body as QueryPage | null;
  if (!b || !Array.isArray(b.records) || typeof b.done !== 'boolean') throw new TransientError('SALESFORCE', `${what}: unexpected query response`);
  return b;
}

/** Follows nextRecordsUrl until done: each page beyond the first is one more API call. */
export async function followPages(session: OrgSession, first: QueryPage, opts: RestOptions = {}): Promise<Record<string, unknown>[]> {
  const rows = [...first.records];
  let page = first;
  while (!page.done && page.nextRecordsUrl) {
    page = asQueryPage(await call<unknown>(session, { method: 'GET', url: page.nextRecordsUrl }, opts), 'nextRecordsUrl');
    rows.push(...page.records);
  }
  return rows;
}
