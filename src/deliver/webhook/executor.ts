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
import { request } from 'undici';
import type { SecretBox } from '../../core/secrets.js';
import { createEgressAgent } from '../../net/egress.js';
import type { AttemptOutcome, DeliveryAttempt, Executor } from '../types.js';
import { signatureHeaders, validSigners } from './sign.js';

export const WebhookExecutorConfigSchema = z
  .object({
    allowPrivateNetworks: z.boolean().default(false).describe('FORCEHOOK_ALLOW_PRIVATE_NETWORKS'),
    connectTimeoutMs: z.number().int().min(1).default(5_000),
    totalTimeoutMs: z.number().int().min(1).default(15_000).describe('whole attempt: connect, send, response headers and body'),
    maxResponseBytes: z.number().int().min(0).default(64 * 1024),
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

export function createWebhookExecutor(cfg: WebhookExecutorConfig, deps: WebhookExecutorDeps): Executor<'webhook'> {
  const c = WebhookExecutorConfigSchema.parse(cfg);
  const ownAgent = deps.agent ? undefined : createEgressAgent({ allowPrivate: c.allowPrivateNetworks, connectTimeoutMs: c.connectTimeoutMs });
  const agent = deps.agent ?? ownAgent!;

  async function readCapped(body: AsyncIterable<Buffer> & { destroy?(): void }): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      if (size < c.errorSnippetChars * 4) chunks.push(chunk);
      size += chunk.length;
      if (size > c.maxResponseBytes) {
        body.destroy?.();
        break;
      }
    }
    return Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, c.errorSnippetChars);
  }

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
      };
      // The engine's signal already carries the total bound when it says so
      // (`budgetMs`): then no controller, timer and listener of our own per
      // attempt (they showed in the delivery profile, with GC behind them).
      const own = a.budgetMs === undefined || a.budgetMs > c.totalTimeoutMs;
      const ac = own ? new AbortController() : undefined;
      const signal = ac?.signal ?? a.signal;
      const timer = ac && setTimeout(() => ac.abort(new DOMException(`no complete response within ${c.totalTimeoutMs} ms`, 'TimeoutError')), c.totalTimeoutMs);
      const onAbort = () => ac?.abort(a.signal.reason);
      if (ac) {
        if (a.signal.aborted) onAbort();
        else a.signal.addEventListener('abort', onAbort, { once: true });
      }
      let status: number;
      let retryAfter: string | string[] | undefined;
      let snippet: string;
      try {
        const res = await request(a.subscription.destination.url, { method: 'POST', headers, body, dispatcher: agent, signal });
        status = res.statusCode;
        retryAfter = res.headers['retry-after'];
        // A success's body is never looked at: dump it (same cap, connection kept)
        // instead of iterating it into a snippet.
        if (status >= 200 && status < 300) {
          await res.body.dump({ limit: c.maxResponseBytes });
          snippet = '';
        } else snippet = await readCapped(res.body as unknown as AsyncIterable<Buffer> & { destroy?(): void });
      } catch (err) {
        return classifyError(signal.aborted && signal.reason instanceof DOMException ? signal.reason : err, c.totalTimeoutMs);
      } finally {
        if (ac) {
          clearTimeout(timer);
          a.signal.removeEventListener('abort', onAbort);
        }
      }
      if (status >= 200 && status < 300) return { result: 'delivered', status };
      const error = `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
      if (status === 410) return { result: 'disable', error, status };
      if (status >= 300 && status < 400) return { result: 'retry', error: `HTTP ${status}: redirects are not followed; update the URL`, status };
      if (status === 429 || status === 503) {
        const ms = parseRetryAfter(retryAfter, now);
        return { result: 'retry', error, status, ...(ms !== undefined ? { retryAfterMs: ms } : {}) };
      }
      return { result: 'retry', error, status };
    },
    async close() {
      await ownAgent?.close();
    },
  };
}
