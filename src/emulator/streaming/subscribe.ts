import type { CometdContext } from './context.js';
import * as E from './errors.js';
import type { StreamingClient } from './registry.js';
import { replayStart } from './replay.js';
import { base, type Msg } from './wire.js';

/** /meta/subscribe: checks the channel and the user's permission, queues the replayed events, listens to the org's bus. */
export function subscribe(ctx: CometdContext, msg: Msg, client: StreamingClient): Msg {
  const { opts, polls } = ctx;
  const sub = msg['subscription'];
  const reply = { ...base(msg, '/meta/subscribe', client.id), subscription: sub };
  const fail = (error: string): Msg => ({ ...reply, error, successful: false });
  if (typeof sub !== 'string' || sub === '') return fail(E.CHANNEL_NOT_SPECIFIED);
  if (!sub.startsWith('/')) return fail(E.CHANNEL_LEADING_SLASH);
  const bus = opts.busFor(client.orgId);
  if (!bus || sub.startsWith('/meta/') || !opts.channelAllowed(client.orgId, sub)) return fail(E.channelNotFound(sub));
  const refusal = opts.subscribeRefusal?.(client.orgId, client.userId, sub);
  if (refusal) return fail(refusal);

  const start = replayStart(msg, sub, bus);
  if ('error' in start) return fail(start.error);
  if (start.after !== null) {
    for (const event of bus.eventsAfter(start.after, sub)) client.queue.push({ channel: sub, event });
  }
  client.subscriptions.add(sub);
  client.bus = bus;
  polls.listen(client, bus);
  if (client.held && client.queue.length > 0) polls.scheduleFlush(client);
  return { ...reply, successful: true };
}

/** /meta/unsubscribe: the channel's queued events go with it. */
export function unsubscribe(msg: Msg, client: StreamingClient): Msg {
  const sub = msg['subscription'];
  const reply = { ...base(msg, '/meta/unsubscribe', client.id), subscription: sub };
  if (typeof sub !== 'string' || sub === '') return { ...reply, error: E.CHANNEL_NOT_SPECIFIED, successful: false };
  client.subscriptions.delete(sub);
  if (client.queue.length > 0) client.queue = client.queue.filter((d) => d.channel !== sub);
  return { ...reply, successful: true };
}
