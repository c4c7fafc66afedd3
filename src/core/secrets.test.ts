import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SecretBox, constantTimeEqual } from './secrets.js';

describe('SecretBox', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('refresh-token-123');
    expect(sealed).not.toContain('refresh-token-123');
    expect(box.open(sealed)).toBe('refresh-token-123');
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });

  it('detects tampering and a wrong key', () => {
    const box = new SecretBox([k1]);
    const sealed = box.seal('secret');
    const parts = sealed.split('.');
    parts[4] = Buffer.from('forged').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow(/failed authentication/);
    expect(() => new SecretBox([k2]).open(sealed)).toThrow(/cannot be opened/);
  });

  it('rotates: a new key first still opens secrets sealed by the old one', () => {
    const old = new SecretBox([k1]).seal('s');
    const rotated = new SecretBox([k2, k1]);
    expect(rotated.open(old)).toBe('s');
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.isStale(rotated.seal('s'))).toBe(false);
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
