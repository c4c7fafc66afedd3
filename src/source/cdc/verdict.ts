/**
 * What a Bayeux reply means for the subscriber, decided in one table-tested place
 *. faye handles some of these itself (`403::Unknown client`: it
 * re-handshakes and re-subscribes); the others need the subscriber.
 */
export type Verdict =
  /** The token was revoked or expired for streaming: refresh it and rebuild the client. */
  | { kind: 'auth'; error: string }
  /** `advice.reconnect: none` for another reason: faye went silent; rebuild after a backoff. */
  | { kind: 'dead'; error: string }
  /** The replay map named a replayId the server will not replay: resubscribe at -1, reconcile the gap. */
  | { kind: 'invalid_replay'; channel: string; error: string }
  /** The server refused the channel itself (unknown channel, not CDC-enabled, no permission). */
  | { kind: 'channel_rejected'; channel: string; error: string }
  /**
   * An org-wide streaming allocation is spent: no reconnect can succeed until it frees,
   * whatever the advice says (hammering it only keeps the org's slots busy).
   */
  | { kind: 'limited'; limit: StreamingLimit; error: string };

/** `event_allocation`: events delivered per 24 h; `concurrent_clients`: CometD clients of the org. */
export type StreamingLimit = 'event_allocation' | 'concurrent_clients';

export interface BayeuxReply {
  channel?: unknown;
  successful?: unknown;
  error?: unknown;
  subscription?: unknown;
  advice?: { reconnect?: unknown; [k: string]: unknown } | null;
  ext?: { sfdc?: { failureReason?: unknown } | null } | null;
}

// Matched by pattern, not text: live servers and the docs disagree on the spacing.
const INVALID_REPLAY = /^400::The replayId \{.*\} you provided was invalid/s;
const MAP_MISMATCH = /^400::The replayId for channel \{(.*?)\} wasn't found using the provided replay ID map/s;
const LIMITS: [RegExp, StreamingLimit][] = [
  [/^403::Organization total events daily limit exceeded/i, 'event_allocation'],
  [/^403::Organization concurrent user limit exceeded/i, 'concurrent_clients'],
];

/** null: nothing for the subscriber to do (success, or a failure faye recovers from itself). */
export function classifyReply(reply: BayeuxReply, subscribeChannel?: string): Verdict | null {
  if (reply.successful !== false) return null;
  const error = typeof reply.error === 'string' ? reply.error : '';
  const reconnect = reply.advice?.reconnect;
  const failureReason = reply.ext?.sfdc?.failureReason;
  // Checked before the advice: the limit is the same whether it comes with retry, none or nothing,
  // and as the error itself or as a handshake's failure reason.
  for (const text of [error, typeof failureReason === 'string' ? failureReason : '']) {
    const limit = LIMITS.find(([re]) => re.test(text))?.[1];
    if (limit) return { kind: 'limited', limit, error: text };
  }
  if (reconnect === 'none') {
    if (error.startsWith('401::')) return { kind: 'auth', error };
    if (error.startsWith('403::Handshake denied') && typeof failureReason === 'string' && failureReason.startsWith('401::')) {
      return { kind: 'auth', error: `${error} (${failureReason})` };
    }
    return { kind: 'dead', error: typeof failureReason === 'string' ? `${error} (${failureReason})` : error };
  }
  if (reply.channel !== '/meta/subscribe' || reconnect === 'handshake' || error.startsWith('403::Unknown client')) return null;
  const channel = typeof reply.subscription === 'string' ? reply.subscription : (subscribeChannel ?? MAP_MISMATCH.exec(error)?.[1]);
  if (channel === undefined) return null;
  if (INVALID_REPLAY.test(error) || MAP_MISMATCH.test(error)) return { kind: 'invalid_replay', channel, error };
  return { kind: 'channel_rejected', channel, error };
}
