import { describe, expect, it } from 'vitest';
import { commitTimestampOf, compareReplayIds, isAtOrBefore, replayIdOf, wireReplayId } from './replay-id.js';

describe('replay ids', () => {
  it('compares integers exactly, beyond 2^53 too', () => {
    expect(compareReplayIds('9', '10')).toBe(-1);
    expect(compareReplayIds('9007199254740993', '9007199254740992')).toBe(1);
    expect(compareReplayIds('7', '7')).toBe(0);
  });

  it('never calls an opaque (non-integer) id a duplicate: losing an event is worse than a re-send', () => {
    expect(compareReplayIds('abc', '1')).toBeUndefined();
    expect(isAtOrBefore('abc', 'abc')).toBe(false);
    expect(isAtOrBefore('5', undefined)).toBe(false);
    expect(isAtOrBefore('5', '5')).toBe(true);
    expect(isAtOrBefore('6', '5')).toBe(false);
  });

  it('sends numbers on the wire when exact, strings otherwise', () => {
    expect(wireReplayId('-1')).toBe(-1);
    expect(wireReplayId('123')).toBe(123);
    expect(wireReplayId('9007199254740993')).toBe('9007199254740993');
  });

  it('reads replayId and commitTimestamp from a CDC message, 0 when the header has no time', () => {
    expect(replayIdOf({ event: { replayId: 17 } })).toBe('17');
    expect(replayIdOf({ payload: {} })).toBeUndefined();
    expect(commitTimestampOf({ payload: { ChangeEventHeader: { commitTimestamp: 1700000000000 } } })).toBe(1700000000000);
    expect(commitTimestampOf({ payload: {} })).toBe(0);
  });
});
