import type { Response } from 'express';
import type { CometdContext } from './context.js';
import { allocationExceeded } from './long-poll.js';
import type { StreamingClient } from './registry.js';
import { base, send, type Msg } from './wire.js';

/**
 * /meta/connect, answered last in its batch together with the other replies:
 * at once on a client's first connect, when events wait or when it asks for no
 * hold; otherwise held (long-poll) until events arrive or the hold ends.
 */
export function connect(ctx: CometdContext, msg: Msg, client: StreamingClient, replies: Msg[], setCookies: string[], res: Response): void {
  const { polls, registry, connectTimeoutMs } = ctx;
  if (ctx.deliverable(client.orgId) <= 0) {
    // On a first connect as on a later one: the client is refused, its events stay in the bus for replay.
    if (client.held) polls.answerHeld(client);
    const parts = replies.map((r) => JSON.stringify(r));
    parts.push(JSON.stringify(allocationExceeded(client, msg)));
    polls.forget(client, undefined);
    send(res, parts, 200, setCookies);
    return;
  }
  const connectAdvice = { interval: 0, timeout: connectTimeoutMs, reconnect: 'retry' };
  const connectReply: Msg = { clientId: client.id, advice: connectAdvice, ...base(msg, '/meta/connect'), successful: true };
  // A newer connect supersedes a held one (the client gave up on it or batched a new one).
  if (client.held) polls.answerHeld(client);
  const advice = msg['advice'] as Msg | undefined;
  const requested = advice && typeof advice['timeout'] === 'number' ? (advice['timeout'] as number) : connectTimeoutMs;
  const holdMs = Math.min(requested, connectTimeoutMs);
  const wasConnected = client.connected;
  client.connected = true;
  if (!wasConnected || holdMs <= 0 || client.queue.length > 0) {
    const parts = replies.map((r) => JSON.stringify(r));
    parts.push(...polls.drain(client), JSON.stringify(connectReply));
    send(res, parts, 200, setCookies);
    registry.markIdle(client);
    return;
  }
  if (setCookies.length > 0) res.setHeader('Set-Cookie', setCookies);
  polls.hold(client, res, replies, connectReply, holdMs);
}
