/**
 * A webhook receiver as a customer writes one: it verifies every request with the `standardwebhooks`
 * package and parses the body with the cloudevents SDK. Used by the tests, the chaos scenarios and the demo
 * checks alike. No vitest import: the chaos runner uses it under plain tsx.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP, type CloudEvent } from 'cloudevents';
import { Webhook } from 'standardwebhooks';

export interface Received {
  event: CloudEvent<Record<string, unknown>>;
  headers: Record<string, string>;
  at: number;
  /** Which of the receiver's secrets verified this request (by index). */
  verifiedWith: number[];
}

/** A verified delivery, reduced to what the chaos ledger compares. */
export interface Delivery {
  webhookId: string;
  /** What the change is, independent of its id: `type subject commitTimestamp`. */
  content: string;
  /** The record's values the event carried (data.record). */
  record?: Record<string, unknown>;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  delayMs?: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  deliveries: Delivery[];
  /** Requests answered (any status), including failed ones. */
  requests: number;
  /** Requests that failed verification or parsing: must stay empty. */
  invalid: string[];
  secrets: string[];
  /**
   * `every`: each known secret must verify the request on its own (one subscription whose secret rotates);
   * `any`: one of them must (many subscriptions delivering to one receiver). An unverified request is answered 401.
   */
  verify: 'every' | 'any';
  /** While set, every request is answered 503 without being read. */
  down: boolean;
  behave: (req: IncomingMessage, n: number) => Reply;
  ids(): string[];
  close(): Promise<void>;
}

export async function startReceiver(opts: { secrets?: string[]; behave?: Receiver['behave']; verify?: Receiver['verify'] } = {}): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    received: [],
    deliveries: [],
    requests: 0,
    invalid: [],
    secrets: opts.secrets ?? [],
    verify: opts.verify ?? 'every',
    down: false,
    behave: opts.behave ?? (() => ({ status: 204 })),
    ids: () => r.received.map((x) => x.event.id),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    if (r.down) {
      r.requests++;
      res.writeHead(503);
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = r.requests++;
      let reply = r.behave(req, n);
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const answer = () => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.status >= 200 && reply.status < 300) {
        const verifiedWith = r.secrets.flatMap((s, i) => {
          try {
            new Webhook(s).verify(body, headers); // throws unless a signature matches
            return [i];
          } catch {
            return [];
          }
        });
        const verified = r.secrets.length > 0 && (r.verify === 'any' ? verifiedWith.length > 0 : verifiedWith.length === r.secrets.length);
        if (!verified) {
          r.invalid.push(
            r.secrets.length === 0
              ? 'receiver has no secret to verify with'
              : `unverified ${headers['webhook-id'] ?? '?'} (verified by ${verifiedWith.length} of ${r.secrets.length} secrets)`,
          );
          reply = { status: 401 };
        } else {
          try {
            const event = HTTP.toEvent({ headers, body }) as CloudEvent<Record<string, unknown>>;
            if (event.id !== headers['webhook-id']) r.invalid.push(`webhook-id ${headers['webhook-id']} != event id ${event.id}`);
            r.received.push({ event, headers, at: Date.now(), verifiedWith });
            const data = event.data as { commitTimestamp?: number; record?: Record<string, unknown> } | undefined;
            r.deliveries.push({
              webhookId: headers['webhook-id']!,
              content: `${event.type} ${event.subject} ${data?.commitTimestamp}`,
              ...(data?.record ? { record: data.record } : {}),
            });
          } catch (err) {
            r.invalid.push((err as Error).message);
          }
        }
      }
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}
