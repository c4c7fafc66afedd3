/**
 * jsforce's HTTP, through forcehook's Salesforce egress. jsforce sends with node-fetch on
 * Node's default agent, follows redirects (with the same Authorization header) and has no
 * option to hand it another agent; its Connection does take its transport from a field,
 * so each session's Connection gets this one instead:
 * - the URL of every request must be a host the egress allows (the bearer token goes with it);
 * - the connection goes through the guarded dispatcher (address checked at connect time);
 * - a redirect is an error, never followed.
 * jsforce's own retry of idempotent requests (420, 429, 5xx, network errors) is kept, on the
 * project's retry primitive.
 */
import type { Duplex } from 'node:stream';
import type { Connection } from 'jsforce';
import { createHttpRequestHandlerStreams } from 'jsforce/lib/request-helper.js';
import { Transport } from 'jsforce/lib/transport.js';
import type { HttpRequest, HttpRequestOptions } from 'jsforce/lib/types/index.js';
import { request, type Dispatcher } from 'undici';
import { ForcehookError, TerminalError, TransientError } from '../core/errors.js';
import { retry, retryPolicy } from '../core/retry.js';
import { snippet, type SalesforceEgress } from '../net/salesforce-egress.js';

/** As jsforce does: 500 ms, doubling, five retries. */
const RETRY = retryPolicy({ maxAttempts: 6, initialDelayMs: 500, multiplier: 2, maxDelayMs: 8_000, jitter: 0.2 });
const RETRY_STATUSES = new Set([420, 429, 500, 502, 503, 504]);
const IDEMPOTENT = new Set(['GET', 'PUT', 'HEAD', 'OPTIONS', 'DELETE']);
/** jsforce gives up on 420 (a deleted scratch org) after two retries. */
const MAX_420_RETRIES = 2;

function headersOf(res: Dispatcher.ResponseData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function bodyOf(req: HttpRequest): string | Buffer | undefined {
  const b = req.body as unknown;
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string' || Buffer.isBuffer(b)) return b;
  const form = b as { getBuffer?: () => Buffer };
  if (typeof form.getBuffer === 'function') return form.getBuffer();
  return String(b);
}

async function send(egress: SalesforceEgress, req: HttpRequest, options: HttpRequestOptions): Promise<Dispatcher.ResponseData> {
  const url = egress.hosts.check(req.url, 'Salesforce request');
  const method = req.method.toUpperCase();
  const body = /^(POST|PUT|PATCH)$/.test(method) ? bodyOf(req) : undefined;
  let retries420 = 0;
  return retry(RETRY, async ({ attempt, bail }) => {
    const last = attempt >= RETRY.maxAttempts;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: method as Dispatcher.HttpMethod,
        headers: req.headers ?? {},
        ...(body !== undefined ? { body } : {}),
        dispatcher: egress.dispatcher,
        ...(options.timeout ? { headersTimeout: options.timeout, bodyTimeout: options.timeout } : {}),
      });
    } catch (err) {
      if (err instanceof ForcehookError || !IDEMPOTENT.has(method)) bail(err);
      throw new TransientError('SALESFORCE', `${method} ${url.origin}: ${snippet((err as Error).message)}`, { cause: err });
    }
    if (res.statusCode >= 300 && res.statusCode < 400 && res.statusCode !== 304) {
      // The Authorization header would follow the redirect to wherever it points.
      await res.body.dump();
      bail(new TerminalError('SALESFORCE', `${method} ${url.origin}${url.pathname} answered a redirect (HTTP ${res.statusCode}); redirects are not followed`));
    }
    const again = IDEMPOTENT.has(method) && RETRY_STATUSES.has(res.statusCode) && !last && (res.statusCode !== 420 || retries420++ < MAX_420_RETRIES);
    if (!again) return res;
    await res.body.dump();
    throw new TransientError('SALESFORCE', `${method} ${url.origin}: HTTP ${res.statusCode}`);
  });
}

/** A jsforce Transport whose every request goes through `egress`. */
export class GuardedTransport extends Transport {
  constructor(private readonly egress: SalesforceEgress) {
    super();
  }

  override getRequestStreamCreator(): (req: HttpRequest, options: HttpRequestOptions) => Duplex {
    return (req, options) => {
      const { output, stream } = createHttpRequestHandlerStreams(req, options);
      send(this.egress, req, options).then(
        (res) => {
          stream.emit('response', { statusCode: res.statusCode, headers: headersOf(res) });
          res.body.on('error', (err) => stream.emit('error', err));
          res.body.pipe(output);
        },
        (err: unknown) => stream.emit('error', err),
      );
      return stream;
    };
  }
}

/** Makes `conn` (and its OAuth2 client) send through `egress` only. */
export function guardConnection(conn: Connection, egress: SalesforceEgress): Connection {
  const transport = new GuardedTransport(egress);
  conn._transport = transport;
  (conn.oauth2 as unknown as { _transport: Transport })._transport = transport;
  return conn;
}
