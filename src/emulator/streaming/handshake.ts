import { randomBytes } from 'node:crypto';
import type { CometdContext } from './context.js';
import * as E from './errors.js';
import { newClientId, type StreamingClient } from './registry.js';
import { base, BROWSER_COOKIE, LB_COOKIE, type Msg } from './wire.js';

/** /meta/handshake: authenticates, checks the org's client limit, and registers a new client. */
export function handshake(ctx: CometdContext, msg: Msg, authorization: string | undefined, cookies: Record<string, string>, setCookies: string[]): Msg {
  const { opts, registry, log } = ctx;
  const auth = opts.authenticate(authorization, cookies);
  if (!auth) {
    const reason = authorization ? E.AUTH_INVALID : E.AUTH_REQUIRED;
    return {
      ext: { sfdc: { failureReason: reason }, replay: true, 'payload.format': true },
      advice: { reconnect: 'none' },
      ...base(msg, '/meta/handshake'),
      error: E.HANDSHAKE_DENIED,
      successful: false,
    };
  }
  const types = msg['supportedConnectionTypes'];
  if (Array.isArray(types) && !types.includes('long-polling')) {
    return { ...base(msg, '/meta/handshake'), error: E.invalidConnectionType(types.join(',')), successful: false };
  }
  if (registry.countOfOrg(auth.orgId) >= ctx.clientLimit(auth.orgId)) {
    // No advice: faye retries the handshake after its back-off, as a client should once others leave.
    return { ...base(msg, '/meta/handshake'), error: E.CONCURRENT_CLIENT_LIMIT, successful: false };
  }
  let browserId = cookies[BROWSER_COOKIE];
  if (!browserId) {
    browserId = randomBytes(12).toString('hex');
    setCookies.push(`${BROWSER_COOKIE}=${browserId}; Path=/; HttpOnly`);
    setCookies.push(`${LB_COOKIE}=!${randomBytes(24).toString('base64url')}; Path=/`);
  }
  const client: StreamingClient = {
    id: newClientId(),
    orgId: auth.orgId,
    userId: auth.userId,
    authorization,
    cookies,
    browserId,
    subscriptions: new Set(),
    queue: [],
    held: null,
    authInvalid: false,
    connected: false,
    unlisten: null,
    bus: undefined,
  };
  registry.add(client);
  log?.debug({ clientId: client.id, orgId: client.orgId }, 'streaming handshake');
  // Field set and order of Salesforce's reply.
  return {
    ext: { replay: true, 'payload.format': true },
    minimumVersion: '1.0',
    clientId: client.id,
    supportedConnectionTypes: ['long-polling'],
    ...base(msg, '/meta/handshake'),
    version: '1.0',
    successful: true,
    reestablish: false,
  };
}
