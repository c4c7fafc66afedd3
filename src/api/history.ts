import { Router, type Request } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { ATTEMPT_STATUSES } from '../deliver/attempt-log.js';
import { EventFilterSchema, recentEvents, matchesFilter, type EventFilter, type EventTail } from '../history/events.js';
import { recentAttempts } from '../history/attempts.js';
import { parseQuery } from '../http/validate.js';
import type { Topics } from '../kafka/topics.js';
import type { KafkaClient } from '../kafka/types.js';
import type { ServiceStore } from '../state/store.js';

const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);

export const EventsQuerySchema = EventFilterSchema.extend({
  since: z.iso.datetime({ offset: true }).optional().describe('events at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('events before this time'),
  limit: limit(500, 50),
}).strict();

export const DeliveriesQuerySchema = z
  .object({
    status: z.enum(ATTEMPT_STATUSES).optional(),
    eventId: z.string().min(1).optional().describe("only this event's attempts"),
    limit: limit(1_000, 100),
  })
  .strict();

export interface HistoryDeps {
  kafka: KafkaClient;
  topics: Topics;
  store: ServiceStore;
  tail: EventTail;
  /** Prefix of the one-off consumer groups reading history. */
  groupPrefix: string;
  logger: Logger;
  /** Comment lines that keep idle streams open through proxies. */
  keepAliveMs?: number;
}

/**
 * History for operators: recent events (`GET /events`), the live tail
 * (`GET /events/stream`, Server-Sent Events) and a subscription's attempt log
 * (`GET /subscriptions/:id/deliveries`). Reads go to Kafka, bounded by time,
 * `limit` and a scan limit; nothing is kept in memory between requests.
 */
export function historyRouter(deps: HistoryDeps): Router {
  const r = Router();
  const orgOf = (connectionId: string) => deps.store.connection(connectionId)?.orgId;

  r.get('/events', async (req, res) => {
    const q = parseQuery(req, EventsQuerySchema);
    const { since, until, limit: n, ...filter } = q;
    const out = await recentEvents(
      { kafka: deps.kafka, topics: deps.topics, orgOf, groupPrefix: deps.groupPrefix },
      { ...filter, ...(since ? { sinceMs: Date.parse(since) } : {}), ...(until ? { untilMs: Date.parse(until) } : {}), limit: n },
    );
    res.json({ data: out.items, ...(out.truncated ? { truncated: true } : {}) });
  });

  r.get('/events/stream', async (req: Request, res) => {
    const filter: EventFilter = parseQuery(req, EventFilterSchema);
    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    let closed = false;
    let stop: (() => void) | undefined;
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), deps.keepAliveMs ?? 15_000);
    req.on('close', () => {
      closed = true;
      clearInterval(keepAlive);
      stop?.();
    });
    try {
      const unlisten = await deps.tail.listen((e) => {
        if (matchesFilter(e, filter)) res.write(`data: ${JSON.stringify(e)}\n\n`);
      });
      if (closed) unlisten();
      else stop = unlisten;
      // Tells the client the tail is reading: events from here on arrive.
      if (!closed) res.write(': ready\n\n');
    } catch (err) {
      deps.logger.warn({ err }, 'event stream could not start');
      clearInterval(keepAlive);
      res.write(`event: error\ndata: ${JSON.stringify({ message: 'the live tail could not start; retry shortly' })}\n\n`);
      res.end();
    }
  });

  r.get('/subscriptions/:id/deliveries', async (req, res) => {
    const id = req.params.id as string;
    if (!deps.store.subscription(id)) throw new NotFoundError(`subscription ${id} not found`);
    const q = parseQuery(req, DeliveriesQuerySchema);
    const out = await recentAttempts(
      { kafka: deps.kafka, topics: deps.topics, groupPrefix: deps.groupPrefix },
      { subscriptionId: id, limit: q.limit, ...(q.status ? { status: q.status } : {}), ...(q.eventId ? { eventId: q.eventId } : {}) },
    );
    res.json({
      data: out.items.map(({ subscriptionId: _s, ...rest }) => rest),
      ...(out.truncated ? { truncated: true } : {}),
    });
  });
  return r;
}
