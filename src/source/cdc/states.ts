import type { TransitionTable } from '../../core/state-machine.js';
import type { CdcState } from './types.js';

/**
 * The subscriber's lifecycle.
 * - connecting: first client built or a channel added; not every channel subscribed yet
 *   (a change committed now may be in no stream: it is caught up once the channel is live).
 * - subscribed: every channel (but those the server refused) is subscribed and polling.
 * - reconnecting: a rebuild, a re-handshake or a transport outage is under way.
 * - paused: the backlog outgrew `maxBuffered` (downstream is stuck); no client until it drains.
 * - needs_reauth: the grant is gone; nothing retries until a person re-authorizes.
 */
export const CDC_TRANSITIONS: TransitionTable<CdcState> = {
  idle: ['connecting', 'stopped'],
  connecting: ['subscribed', 'reconnecting', 'paused', 'needs_reauth', 'stopped'],
  subscribed: ['connecting', 'reconnecting', 'paused', 'needs_reauth', 'stopped'],
  reconnecting: ['subscribed', 'paused', 'needs_reauth', 'stopped'],
  paused: ['reconnecting', 'needs_reauth', 'stopped'],
  needs_reauth: ['stopped'],
  stopped: [],
};
