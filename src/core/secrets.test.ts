import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { sealUnbound } from '../../testkit/sealed.js';
import { SecretBox, constantTimeEqual, type SealedPlace } from './secrets.js';

describe('SecretBox', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const at: SealedPlace = { kind: 'connection', id: 'c1', field: 'refreshToken' };

  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('refresh-token-123', at);
    expect(sealed).not.toContain('refresh-token-123');
    expect(box.open(sealed, at)).toBe('refresh-token-123');
    expect(box.seal('x', at)).not.toBe(box.seal('x', at));
  });

  it('detects tampering and a wrong key', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('secret', at);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('forged').toString('base64url');
    expect(() => box.open(parts.join('.'), at)).toThrow(/failed authentication/);
    expect(() => new SecretBox([k2]).open(sealed, at)).toThrow(/cannot be opened/);
  });

  it('rotates: a new key first still opens secrets sealed by the old one', () => {
    const old = new SecretBox([k1]).seal('s', at);
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(old, at)).toBe('s');
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.isStale(rotated.seal('s', at))).toBe(false);
    const resealed = rotated.reseal(old, at);
    expect(new SecretBox([k2]).open(resealed, at)).toBe('s');
  });

  it('opens values in the unbound format for the fields that had them, and re-seals them bound', () => {
    const legacy = sealUnbound(k1, 'rt');
    const box = new SecretBox([k1]);
    expect(box.open(legacy, at)).toBe('rt');
    expect(box.isStale(legacy)).toBe(true);
    const bound = box.reseal(legacy, at);
    expect(bound.startsWith('v2.')).toBe(true);
    expect(box.open(bound, at)).toBe('rt');
    expect(() => box.open(bound, { ...at, id: 'c2' })).toThrow(/sealed for another place/);
    // A field that never had unbound values refuses them.
    expect(() => box.open(legacy, { kind: 'oauthState', id: '', field: 'state' })).toThrow(/cannot be opened/);
  });
});

describe('constantTimeEqual', () => {
  it('compares values of any length without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'a much longer value')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
