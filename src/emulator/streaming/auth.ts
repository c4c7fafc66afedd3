import type { CometdContext } from './context.js';
import * as E from './errors.js';
import type { StreamingClient } from './registry.js';
import { authInvalidAdvice, base, BROWSER_COOKIE, unknownClientAdvice, type Msg } from './wire.js';

/**
 * Looks up the client of a message and checks what every non-handshake message needs:
 * a live client, a still-valid session, the session cookie, the same user.
 * Returns the client, or the error reply to send instead.
 */
export function clientFor(
  ctx: CometdContext,
  msg: Msg,
  channel: string,
  authorization: string | undefined,
  cookies: Record<string, string>,
): StreamingClient | Msg {
  const { opts, registry, polls } = ctx;
  const clientId = typeof msg['clientId'] === 'string' ? msg['clientId'] : undefined;
  const client = registry.get(clientId);
  if (!client) {
    return { ...base(msg, channel, clientId), error: E.UNKNOWN_CLIENT, successful: false, advice: unknownClientAdvice };
  }
  if (!client.authInvalid && authorization !== undefined && authorization !== client.authorization) {
    const auth = opts.authenticate(authorization, cookies);
    if (!auth) client.authInvalid = true;
    else if (auth.userId !== client.userId || auth.orgId !== client.orgId) {
      polls.forget(client, undefined);
      return { ...base(msg, channel, client.id), advice: authInvalidAdvice, error: E.USER_MISMATCH, successful: false };
    } else {
      client.authorization = authorization;
      client.cookies = cookies;
    }
  }
  if (client.authInvalid) {
    const reply = { clientId: client.id, advice: authInvalidAdvice, ...base(msg, channel), error: E.AUTH_INVALID, successful: false };
    polls.forget(client);
    return reply;
  }
  if (ctx.requireCookie && cookies[BROWSER_COOKIE] !== client.browserId) {
    return { ...base(msg, channel, client.id), error: E.missingCookie(client.id, BROWSER_COOKIE), successful: false };
  }
  opts.keepAlive?.(client.authorization);
  return client;
}

/**
 * Checks every client's session again (a token expired or was revoked): a
 * client whose session no longer holds is marked, and its held connect answers
 * the error at once; one between two connects learns it on its next message.
 */
export function revalidate(ctx: CometdContext): void {
  for (const c of [...ctx.registry.all()]) {
    const auth = ctx.opts.authenticate(c.authorization, c.cookies);
    if (auth && auth.userId === c.userId && auth.orgId === c.orgId) continue;
    c.authInvalid = true;
    if (c.held) {
      const r = c.held.connectReply;
      ctx.polls.forget(c, {
        clientId: c.id,
        advice: authInvalidAdvice,
        channel: '/meta/connect',
        ...(r['id'] !== undefined ? { id: r['id'] } : {}),
        error: E.AUTH_INVALID,
        successful: false,
      });
    }
  }
}
