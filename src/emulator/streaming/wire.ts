/** The Bayeux messages on the wire: their common fields, the cookies, and one HTTP reply. */
import type { Response } from 'express';

export type Msg = Record<string, unknown>;

export const BROWSER_COOKIE = 'BAYEUX_BROWSER';
export const LB_COOKIE = 'sfdc-stream';

export const unknownClientAdvice = { interval: 0, reconnect: 'handshake' };
export const authInvalidAdvice = { reconnect: 'none', interval: 0 };
// Salesforce's docs name the error but not its advice: assumed final, like an invalid session,
// since no retry can succeed before the rolling 24 h frees part of the allocation.
export const allocationAdvice = { reconnect: 'none', interval: 0 };

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in out)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The fields every reply starts with: clientId (when known), channel, and the message's id. */
export function base(msg: Msg, channel: string, clientId?: string): Msg {
  const out: Msg = {};
  if (clientId !== undefined) out['clientId'] = clientId;
  out['channel'] = channel;
  if (msg['id'] !== undefined) out['id'] = msg['id'];
  return out;
}

/** One HTTP reply: a JSON array of already serialized messages. */
export function send(res: Response, parts: string[], status = 200, setCookies?: string[]): void {
  if (res.headersSent || res.writableEnded) return;
  if (setCookies && setCookies.length > 0) res.setHeader('Set-Cookie', setCookies);
  res.status(status);
  res.setHeader('Content-Type', 'application/json;charset=UTF-8');
  res.setHeader('Cache-Control', 'no-cache, no-store');
  res.end(`[${parts.join(',')}]`);
}
