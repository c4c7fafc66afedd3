/**
 * What a Bayeux reply means for the subscriber, decided in one table-tested place
 * (reference §1.6). faye handles some of these itself (`403::Unknown client`: it
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
  | { kind: 'channel_rejected'; channel: string; error: string };

export interface BayeuxReply {
  channel?: unknown;
  successful?: unknown;
  error?: unknown;
  subscription?: unknown;
  advice?: { reconnect?: unknown; [k: string]: unknown } | null;
  ext?: { sfdc?: { failureReason?: unknown } | null } | null;
}

// Matched by pattern, not text: live servers and the docs disagree on the spacing (reference §1.6).
const INVALID_REPLAY = /^400::The replayId \{.*\} you provided was invalid/s;
const MAP_MISMATCH = /^400::The replayId for channel \{(.*?)\} wasn't found using the provided replay ID map/s;

/** null: nothing for the subscriber to do (success, or a failure faye recovers from itself). */
export function classifyReply(reply: BayeuxReply, subscribeChannel?: string): Verdict | null {
  if (reply.successful !== false) return null;
  const error = typeof reply.error === 'string' ? reply.error : '';
  const reconnect = reply.advice?.reconnect;
  const failureReason = reply.ext?.sfdc?.failureReason;
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
