import type { TransitionTable } from '../../core/state-machine.js';
import type { CdcState } from './types.js';

/**
 * The subscriber's lifecycle.
 * - connecting: first client built or a channel added; not every channel subscribed yet
 *   (a change committed now may be in no stream: it is caught up once the channel is live).
 * - subscribed: every channel (but those the server refused) is subscribed and polling.
 * - reconnecting: a rebuild, a re-handshake or a transport outage is under way.
 * - paused: the backlog outgrew `maxBuffered` (downstream is stuck); no client until it drains.
 * - limited: an org-wide streaming allocation is spent; no client, nothing retries (the owner decides when to try again).
 * - needs_reauth: the grant is gone; nothing retries until a person re-authorizes.
 */
export const CDC_TRANSITIONS: TransitionTable<CdcState> = {
  idle: ['connecting', 'stopped'],
  connecting: ['subscribed', 'reconnecting', 'paused', 'limited', 'needs_reauth', 'stopped'],
  subscribed: ['connecting', 'reconnecting', 'paused', 'limited', 'needs_reauth', 'stopped'],
  reconnecting: ['subscribed', 'paused', 'limited', 'needs_reauth', 'stopped'],
  paused: ['reconnecting', 'limited', 'needs_reauth', 'stopped'],
  limited: ['stopped'],
  needs_reauth: ['stopped'],
  stopped: [],
};
