import { describe, expect, it } from 'vitest';
import { classifyReply, type BayeuxReply } from './verdict.js';

const CH = '/data/AccountChangeEvent';
const INVALID = '400::The replayId {42} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.';
const MISMATCH =
  `400::The replayId for channel {${CH}} wasn't found using the provided replay ID map {{}}. ` +
  'Ensure that the channel name you provided in the replay map is valid and matches the channel name used for subscribing.';

const cases: Array<[string, BayeuxReply, string | undefined, ReturnType<typeof classifyReply>]> = [
  ['a success is nothing to act on', { channel: '/meta/connect', successful: true }, undefined, null],
  [
    'the daily event allocation spent (on connect, reconnect none) is a limit, not a dead client to rebuild',
    { channel: '/meta/connect', successful: false, error: '403::Organization total events daily limit exceeded', advice: { reconnect: 'none' } },
    undefined,
    { kind: 'limited', limit: 'event_allocation', error: '403::Organization total events daily limit exceeded' },
  ],
  [
    'the same with a retry advice (faye would retry it at once, for ever)',
    { channel: '/meta/connect', successful: false, error: '403::Organization total events daily limit exceeded', advice: { reconnect: 'retry', interval: 0 } },
    undefined,
    { kind: 'limited', limit: 'event_allocation', error: '403::Organization total events daily limit exceeded' },
  ],
  [
    'too many concurrent clients on handshake (no advice: faye retries the handshake) is a limit',
    { channel: '/meta/handshake', successful: false, error: '403::Organization concurrent user limit exceeded' },
    undefined,
    { kind: 'limited', limit: 'concurrent_clients', error: '403::Organization concurrent user limit exceeded' },
  ],
  [
    'a limit given as a handshake denial reason is a limit',
    {
      channel: '/meta/handshake',
      successful: false,
      error: '403::Handshake denied',
      advice: { reconnect: 'none' },
      ext: { sfdc: { failureReason: '403::Organization concurrent user limit exceeded' } },
    },
    undefined,
    { kind: 'limited', limit: 'concurrent_clients', error: '403::Organization concurrent user limit exceeded' },
  ],
  [
    'a revoked token on connect (401, reconnect none) means refresh and rebuild',
    { channel: '/meta/connect', successful: false, error: '401::Authentication invalid', advice: { reconnect: 'none' } },
    undefined,
    { kind: 'auth', error: '401::Authentication invalid' },
  ],
  [
    'a handshake denied for a 401 failureReason means refresh and rebuild',
    {
      channel: '/meta/handshake',
      successful: false,
      error: '403::Handshake denied',
      advice: { reconnect: 'none' },
      ext: { sfdc: { failureReason: '401::Authentication invalid' } },
    },
    undefined,
    { kind: 'auth', error: '403::Handshake denied (401::Authentication invalid)' },
  ],
  [
    'a handshake denied for another reason (DoS limit, busy) is dead, not an auth problem',
    {
      channel: '/meta/handshake',
      successful: false,
      error: '403::Handshake denied',
      advice: { reconnect: 'none' },
      ext: { sfdc: { failureReason: '503::Server is too busy' } },
    },
    undefined,
    { kind: 'dead', error: '403::Handshake denied (503::Server is too busy)' },
  ],
  [
    'a user mismatch with reconnect none is dead (rebuild after backoff)',
    { channel: '/meta/connect', successful: false, error: "400::Authenticated user id does not match the session's user id", advice: { reconnect: 'none' } },
    undefined,
    { kind: 'dead', error: "400::Authenticated user id does not match the session's user id" },
  ],
  [
    '403::Unknown client is left to faye (it re-handshakes)',
    { channel: '/meta/connect', successful: false, error: '403::Unknown client', advice: { reconnect: 'handshake', interval: 0 } },
    undefined,
    null,
  ],
  [
    'a subscribe refused as unknown client is left to faye too, never read as a rejected channel',
    { channel: '/meta/subscribe', successful: false, error: '403::Unknown client', subscription: CH, advice: { reconnect: 'handshake' } },
    undefined,
    null,
  ],
  [
    'an invalid replayId names the channel of the reply',
    { channel: '/meta/subscribe', successful: false, error: INVALID, subscription: CH },
    undefined,
    { kind: 'invalid_replay', channel: CH, error: INVALID },
  ],
  [
    'an invalid replayId with one space after "invalid." (the documented wording) is the same',
    { channel: '/meta/subscribe', successful: false, error: INVALID.replace('.  Please', '. Please'), subscription: CH },
    undefined,
    { kind: 'invalid_replay', channel: CH, error: INVALID.replace('.  Please', '. Please') },
  ],
  [
    'without a subscription field the channel comes from the request id',
    { channel: '/meta/subscribe', successful: false, error: INVALID },
    CH,
    { kind: 'invalid_replay', channel: CH, error: INVALID },
  ],
  [
    'a map mismatch is a replay problem, its channel parsed from the text if need be',
    { channel: '/meta/subscribe', successful: false, error: MISMATCH },
    undefined,
    { kind: 'invalid_replay', channel: CH, error: MISMATCH },
  ],
  [
    'an unknown channel is a rejected channel, not a gap',
    { channel: '/meta/subscribe', successful: false, error: `400::The channel you requested to subscribe to doesn't exist {${CH}}`, subscription: CH },
    undefined,
    { kind: 'channel_rejected', channel: CH, error: `400::The channel you requested to subscribe to doesn't exist {${CH}}` },
  ],
];

describe('classifyReply', () => {
  it.each(cases)('%s', (_name, reply, subscribeChannel, expected) => {
    expect(classifyReply(reply, subscribeChannel)).toEqual(expected);
  });
});
