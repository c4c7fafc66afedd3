/**
 * Bayeux error strings exactly as Salesforce words them. They are
 * `code:args:message`; faye's Error.parse splits on the first two colons, so the
 * args part stays empty and anything variable is embedded in the message in braces.
 */

export const UNKNOWN_CLIENT = '403::Unknown client';
export const AUTH_INVALID = '401::Authentication invalid';
export const AUTH_REQUIRED = '401::Request requires authentication';
export const HANDSHAKE_DENIED = '403::Handshake denied';
export const CHANNEL_NOT_SPECIFIED = '400::Channel name not specified';
export const CHANNEL_LEADING_SLASH = "400::Channel subscriptions must start with a leading '/'";
export const USER_MISMATCH = "400::Authenticated user id does not match the session's user id";
export const REQUEST_TOO_LARGE = '413::Maximum Request Size Exceeded';
export const CONCURRENT_CLIENT_LIMIT = '403::Organization concurrent user limit exceeded';
export const EVENTS_DAILY_LIMIT = '403::Organization total events daily limit exceeded';
export const RESTRICTED_CHANNEL = '403::Restricted channel';
/** A single-entity CDC channel subscribed without View All Data (wording not published verbatim: assumed). */
export const CDC_PERMISSION = '403::User not allowed to subscribe CDC without View All Data permissions';
export const VERSION_MANDATORY = "400::API version in the URI is mandatory. URI format: '/cometd/68.0'";
export const VERSION_UNSUPPORTED = "400::Unsupported API version. Only API versions '37.0' and later are supported. URI format: '/cometd/68.0'";

export function channelNotFound(channel: string): string {
  return `400::The channel you requested to subscribe to doesn't exist {${channel}}`;
}

export function invalidConnectionType(type: string): string {
  return `400::Invalid connection type {${type}}`;
}

/** Two spaces after "invalid." on purpose: that is what live servers send. */
export function invalidReplayId(replayId: unknown): string {
  return `400::The replayId {${String(replayId)}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.`;
}

/**
 * The server is Java: the map in the message is `Map.toString()` (`{k=v, k2=v2}`) wrapped
 * in one more pair of braces, as in jsforce#1700 and EMP-Connector#41 (`{{}}`).
 */
export function replayMapMismatch(channel: string, map: Record<string, unknown>): string {
  const entries = Object.entries(map).map(([k, v]) => `${k}=${v === undefined ? 'null' : String(v)}`);
  return (
    `400::The replayId for channel {${channel}} wasn't found using the provided replay ID map {{${entries.join(', ')}}}. ` +
    'Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.'
  );
}

export function missingCookie(clientId: string, cookieName: string): string {
  return `400::Client ${clientId} has established a session, but no ${cookieName} cookie present`;
}
