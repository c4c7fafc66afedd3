/**
 * Test-side webhook receivers and synthetic events for the delivery tests.
 * A receiver verifies EVERY request with the `standardwebhooks` package (each
 * of the secrets it knows must verify on its own) and parses the body with the
 * cloudevents SDK, as a customer would.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP, type CloudEvent } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { testLogger } from '../../src/core/log.js';
import type { ForcehookEvent } from '../../src/events/schema.js';
import { createKafka } from '../../src/kafka/index.js';
import { toKafkaMessage } from '../../src/publish/message.js';
import { testBrokers } from './kafka.js';

export interface Received {
  event: CloudEvent<Record<string, unknown>>;
  headers: Record<string, string>;
  at: number;
  /** Which of the receiver's secrets verified this request (by index). */
  verifiedWith: number[];
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
  /** Requests answered (any status), including failed ones. */
  requests: number;
  /** Requests that failed verification or parsing: must stay 0. */
  invalid: string[];
  secrets: string[];
  behave: (req: IncomingMessage, n: number) => Reply;
  ids(): string[];
  close(): Promise<void>;
}

export async function startReceiver(opts: { secrets?: string[]; behave?: Receiver['behave'] } = {}): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    received: [],
    requests: 0,
    invalid: [],
    secrets: opts.secrets ?? [],
    behave: opts.behave ?? (() => ({ status: 204 })),
    ids: () => r.received.map((x) => x.event.id),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = r.requests++;
      const reply = r.behave(req, n);
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const answer = () => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      };
      if (reply.status >= 200 && reply.status < 300) {
        try {
          const verifiedWith: number[] = [];
          r.secrets.forEach((s, i) => {
            new Webhook(s).verify(body, headers); // throws unless a signature matches
            verifiedWith.push(i);
          });
          if (r.secrets.length === 0) throw new Error('receiver has no secret to verify with');
          const event = HTTP.toEvent({ headers, body }) as CloudEvent<Record<string, unknown>>;
          r.received.push({ event, headers, at: Date.now(), verifiedWith });
        } catch (err) {
          r.invalid.push((err as Error).message);
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

/** A valid event of `connectionId` for record number `n` (ids are deterministic per n and suffix). */
export function syntheticEvent(org: { orgId: string; connectionId: string }, n: number, opts: { object?: string; recordSuffix?: string; type?: 'created' | 'updated' } = {}): ForcehookEvent {
  const recordId = `00Q${(opts.recordSuffix ?? 'AAAA').padEnd(4, 'A').slice(0, 4)}${String(n).padStart(8, '0')}AAA`;
  const commit = Date.now();
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: `/salesforce/${org.orgId}`,
    type: `salesforce.record.${opts.type ?? 'created'}`,
    subject: recordId,
    time: new Date(commit).toISOString(),
    datacontenttype: 'application/json',
    data: {
      orgId: org.orgId,
      connectionId: org.connectionId,
      object: opts.object ?? 'Lead',
      recordId,
      changeType: opts.type === 'updated' ? 'UPDATE' : 'CREATE',
      changedFields: [],
      record: { Id: recordId, LastName: `Test ${n}` },
      detectedBy: 'cdc',
      commitTimestamp: commit,
    },
  };
}

/** Publishes events to `<prefix>.events` as the publisher does (binary CloudEvents, key per record). */
export async function produceEvents(prefix: string, events: ForcehookEvent[]): Promise<void> {
  const kafka = createKafka({ brokers: testBrokers(), clientId: `events-${prefix}`, logger: testLogger() });
  try {
    await kafka.producer().send(`${prefix}.events`, events.map(toKafkaMessage));
  } finally {
    await kafka.close();
  }
}
