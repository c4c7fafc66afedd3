import type { Request, Response } from 'express';
import { clientFor } from './auth.js';
import { connect as answerConnect } from './connect.js';
import type { CometdContext } from './context.js';
import * as E from './errors.js';
import { handshake } from './handshake.js';
import type { StreamingClient } from './registry.js';
import { subscribe, unsubscribe } from './subscribe.js';
import { base, parseCookies, send, type Msg } from './wire.js';

/**
 * One POST's messages, in order: each handled by its channel; a connect among
 * them is answered last, carrying the other replies (and held if it waits).
 */
export function processBatch(ctx: CometdContext, messages: unknown[], req: Request, res: Response): void {
  const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
  const cookies = parseCookies(req.headers.cookie);
  const replies: Msg[] = [];
  const setCookies: string[] = [];
  let connect: { msg: Msg; client: StreamingClient } | null = null;

  for (const raw of messages) {
    const msg: Msg = raw !== null && typeof raw === 'object' ? (raw as Msg) : {};
    const channel = typeof msg['channel'] === 'string' ? msg['channel'] : '';
    if (channel === '/meta/handshake') {
      replies.push(handshake(ctx, msg, authorization, cookies, setCookies));
      continue;
    }
    if (channel === '') {
      replies.push({ ...base(msg, channel), error: E.CHANNEL_NOT_SPECIFIED, successful: false });
      continue;
    }
    if (!channel.startsWith('/meta/')) {
      // The Streaming API delivers; clients cannot publish over CometD.
      replies.push({ ...base(msg, channel, msg['clientId'] as string | undefined), error: E.RESTRICTED_CHANNEL, successful: false });
      continue;
    }
    const found = clientFor(ctx, msg, channel, authorization, cookies);
    if (!('subscriptions' in found)) {
      replies.push(found);
      continue;
    }
    const client = found as StreamingClient;
    switch (channel) {
      case '/meta/connect': {
        const type = msg['connectionType'];
        if (type !== undefined && type !== 'long-polling') {
          replies.push({ ...base(msg, channel, client.id), error: E.invalidConnectionType(String(type)), successful: false });
        } else {
          connect = { msg, client };
        }
        break;
      }
      case '/meta/subscribe':
        replies.push(subscribe(ctx, msg, client));
        break;
      case '/meta/unsubscribe':
        replies.push(unsubscribe(msg, client));
        break;
      case '/meta/disconnect':
        ctx.polls.forget(client, undefined);
        replies.push({ ...base(msg, channel, client.id), successful: true });
        break;
      default:
        replies.push({ ...base(msg, channel, client.id), error: E.channelNotFound(channel), successful: false });
    }
  }

  if (!connect || !ctx.registry.get(connect.client.id)) {
    send(
      res,
      replies.map((r) => JSON.stringify(r)),
      200,
      setCookies,
    );
    return;
  }
  answerConnect(ctx, connect.msg, connect.client, replies, setCookies, res);
}
