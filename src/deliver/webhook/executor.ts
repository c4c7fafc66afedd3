/**
 * The webhook executor: one signed POST of the structured CloudEvent.
 *
 * Status policy (Standard Webhooks "operational recommendations", CloudEvents
 * HTTP webhook spec, Svix):
 * - 2xx within 15 s: delivered.
 * - 410 Gone: the receiver asks us to stop; the subscription is disabled and
 *   the event dead-lettered (redeliver re-activates).
 * - 429 / 503 with Retry-After: retry after that long (capped by the engine),
 *   or the schedule's next delay if that is longer.
 * - 3xx: a failure, the redirect is not followed (the URL must be updated, and
 *   following it would let a receiver bounce us to an internal address).
 * - Any other 4xx, including 400/401/403/404: retried on the schedule, NOT
 *   dead-lettered at once. A webhook 4xx is almost always a receiver-side
 *   misconfiguration (a rotated secret not deployed yet, a route missing during
 *   a deploy, a WAF rule) that gets fixed within hours; the schedule spans ~27 h,
 *   and giving up at the first 4xx would turn a short outage of theirs into
 *   manual DLQ work. This is the Svix behaviour (everything non-2xx retries),
 *   and the opposite of the Nango bug where 429 got one attempt.
 * - 5xx, timeouts, resets: retried.
 * - Refused by the egress policy (private address at connect time): dead at
 *   once: no retry makes it allowed, and the DLQ keeps it for redelivery.
 *
 * The response body is read up to 64 KiB (to reuse the connection) and only a
 * short, single-line prefix of it ever reaches `lastError`.
 */
import { z } from 'zod';
import type { Dispatcher as UndiciDispatcher } from 'undici';
import { LRUCache } from 'lru-cache';
import type { SecretBox } from '../../core/secrets.js';
import { createEgressAgent } from '../../net/egress.js';
import { onAttemptAbort, type AttemptOutcome, type DeliveryAttempt, type Executor } from '../types.js';
import { traceHeaders } from '../../observability/tracing.js';
import { signatureHeaders, validSigners } from './sign.js';

export const WebhookExecutorConfigSchema = z
  .object({
    allowPrivateNetworks: z.boolean().default(false).describe('FORCEHOOK_ALLOW_PRIVATE_NETWORKS'),
    connectTimeoutMs: z.number().int().min(1).default(5_000),
    totalTimeoutMs: z.number().int().min(1).default(15_000).describe('whole attempt: connect, send, response headers and body'),
    maxResponseBytes: z
      .number()
      .int()
      .min(0)
      .default(64 * 1024),
    errorSnippetChars: z.number().int().min(0).default(200),
    userAgent: z.string().default('forcehook-webhooks/1'),
  })
  .strict();
export type WebhookExecutorConfig = z.input<typeof WebhookExecutorConfigSchema>;

export interface WebhookExecutorDeps {
  box: SecretBox;
  /** Defaults to an egress agent (SSRF guard at connect time) built from the config. */
  agent?: UndiciDispatcher & { close?(): Promise<void> };
}

/** Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e && out.length < 5; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

export function classifyError(err: unknown, totalTimeoutMs: number): AttemptOutcome {
  const chain = causes(err);
  const forbidden = chain.find((e) => (e as { code?: string }).code === 'FORBIDDEN_DESTINATION');
  if (forbidden) return { result: 'dead', error: `refused by the egress policy: ${(forbidden as Error).message}` };
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return { result: 'retry', error: `no complete response within ${totalTimeoutMs} ms` };
  }
  if (e.code === 'UND_ERR_CONNECT_TIMEOUT') return { result: 'retry', error: 'connect timeout' };
  const code = chain.map((x) => (x as { code?: string }).code).find((x) => typeof x === 'string');
  return { result: 'retry', error: `request failed: ${code ? `${code} ` : ''}${e.message ?? String(err)}`.slice(0, 300) };
}

/** Where a webhook URL points, as undici's dispatch wants it; parsed once per URL. */
interface Target {
  origin: string;
  path: string;
}

/** A response body past `maxResponseBytes`: the request is cut there, the status already known. */
class ResponseTooLarge extends Error {}

/**
 * One POST through undici's dispatch API, read the way the status policy needs:
 * a 2xx's body is counted and dropped, another's first bytes kept for the error
 * snippet, and `Retry-After` picked from the raw headers. `request()` wraps the
 * same dispatch in an async resource, a body stream and an AbortSignal listener;
 * the delivery profile showed them as about a third of a POST's CPU, so the
 * handler is the whole of it here, and it is cancelled through `cancel`.
 */
class PostHandler {
  status = 0;
  retryAfter: string | undefined;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;
  #abort: ((reason: Error) => void) | undefined;
  #cancelled: Error | undefined;
  /** Undone when the request ends: the abort listener and timer it was given. */
  #releases: (() => void)[] = [];

  constructor(
    readonly resolve: (h: PostHandler) => void,
    readonly reject: (err: unknown) => void,
    readonly maxBytes: number,
    readonly keepBytes: number,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  snippet(chars: number): string {
    return Buffer.concat(this.#chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, chars);
  }

  release(fn: () => void): void {
    this.#releases.push(fn);
  }

  #end(): void {
    for (const fn of this.#releases) fn();
    this.#releases = [];
  }

  cancel(reason: unknown): void {
    this.#cancelled = reason instanceof Error ? reason : new Error(String(reason));
    this.#abort?.(this.#cancelled);
  }

  onConnect(abort: (reason: Error) => void): void {
    // Cancelled while queued for a connection: undici asks here whether to go on.
    if (this.#cancelled) abort(this.#cancelled);
    else this.#abort = abort;
  }

  onHeaders(status: number, raw: Buffer[]): boolean {
    this.status = status;
    if (status === 429 || status === 503) {
      for (let i = 0; i + 1 < raw.length; i += 2) {
        if (raw[i]!.length === 11 && raw[i]!.toString('latin1').toLowerCase() === 'retry-after') this.retryAfter = raw[i + 1]!.toString('latin1');
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#size += chunk.length;
    if (!this.ok && this.#kept < this.keepBytes) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
    }
    // Read up to the cap so the connection is reused; past it, cut the connection.
    if (this.#size > this.maxBytes) this.#abort?.(new ResponseTooLarge());
    return true;
  }

  onComplete(): void {
    this.#end();
    this.resolve(this);
  }

  onError(err: Error): void {
    this.#end();
    if (err instanceof ResponseTooLarge) this.resolve(this);
    else this.reject(err);
  }
}

export function createWebhookExecutor(cfg: WebhookExecutorConfig, deps: WebhookExecutorDeps): Executor<'webhook'> {
  const c = WebhookExecutorConfigSchema.parse(cfg);
  const ownAgent = deps.agent ? undefined : createEgressAgent({ allowPrivate: c.allowPrivateNetworks, connectTimeoutMs: c.connectTimeoutMs });
  const agent = deps.agent ?? ownAgent!;
  const targets = new LRUCache<string, Target>({ max: 10_000 });
  const targetOf = (url: string): Target => {
    let t = targets.get(url);
    if (!t) {
      const u = new URL(url);
      targets.set(url, (t = { origin: u.origin, path: `${u.pathname}${u.search}` }));
    }
    return t;
  };

  const post = (url: string, headers: Record<string, string>, body: string, a: DeliveryAttempt<'webhook'>): Promise<PostHandler> =>
    new Promise<PostHandler>((resolve, reject) => {
      const { origin, path } = targetOf(url);
      const h = new PostHandler(resolve, reject, c.maxResponseBytes, c.errorSnippetChars * 4);
      const cancel = (reason: unknown) => h.cancel(reason);
      // The engine's abort (its budget, or stop), plus our own bound unless the engine's is no longer.
      h.release(onAttemptAbort(a, cancel));
      if (a.budgetMs === undefined || a.budgetMs > c.totalTimeoutMs) {
        const timer = setTimeout(() => cancel(new DOMException(`no complete response within ${c.totalTimeoutMs} ms`, 'TimeoutError')), c.totalTimeoutMs);
        h.release(() => clearTimeout(timer));
      }
      agent.dispatch({ origin, path, method: 'POST', headers, body }, h as unknown as UndiciDispatcher.DispatchHandler);
    });

  return {
    type: 'webhook',
    timeoutMs: c.totalTimeoutMs,
    async execute(a: DeliveryAttempt<'webhook'>): Promise<AttemptOutcome> {
      const now = a.now();
      const body = JSON.stringify(a.event);
      const signers = validSigners(a.subscription, deps.box, now);
      if (signers.length === 0) return { result: 'dead', error: 'the subscription has no valid signing secret' };
      const headers = {
        'content-type': 'application/cloudevents+json',
        'user-agent': c.userAgent,
        ...signatureHeaders(a.event.id, body, signers, now),
        // The attempt's span, so that the receiver's own tracing continues the trace.
        ...traceHeaders(),
      };
      let res: PostHandler;
      try {
        res = await post(a.subscription.destination.url, headers, body, a);
      } catch (err) {
        return classifyError(err, c.totalTimeoutMs);
      }
      const status = res.status;
      if (res.ok) return { result: 'delivered', status };
      const snippet = res.snippet(c.errorSnippetChars);
      const error = `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
      if (status === 410) return { result: 'disable', error, status };
      if (status >= 300 && status < 400) return { result: 'retry', error: `HTTP ${status}: redirects are not followed; update the URL`, status };
      if (status === 429 || status === 503) {
        const ms = parseRetryAfter(res.retryAfter, now);
        return { result: 'retry', error, status, ...(ms !== undefined ? { retryAfterMs: ms } : {}) };
      }
      return { result: 'retry', error, status };
    },
    async close() {
      await ownAgent?.close();
    },
  };
}
