import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/core/errors.js';
import { SecretBox } from '../src/core/secrets.js';

const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'config');
const key = () => randomBytes(32).toString('base64');
const base = { KAFKA_BROKERS: '127.0.0.1:9092', FORCEHOOK_API_TOKEN: 'a'.repeat(32) };

describe('FORCEHOOK_SECRET_KEY rotation (FORCEHOOK_SECRET_KEY_PREVIOUS)', () => {
  it('is empty by default and takes comma-separated older keys', () => {
    const [a, b, c] = [key(), key(), key()];
    expect(loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: a } }).secretKeyPrevious).toEqual([]);
    expect(loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: a, FORCEHOOK_SECRET_KEY_PREVIOUS: ` ${b}, ${c} ` } }).secretKeyPrevious).toEqual([b, c]);
  });

  it('names the setting when an older key is not base64 of 32 bytes', () => {
    let err: unknown;
    try {
      loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: key(), FORCEHOOK_SECRET_KEY_PREVIOUS: `${key()},c2hvcnQ=` } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^FORCEHOOK_SECRET_KEY_PREVIOUS: /);
  });

  it('after rotation, secrets sealed under the old key still open; new ones are sealed under the new key', () => {
    const [oldKey, newKey] = [key(), key()];
    const sealedBefore = SecretBox.fromBase64(oldKey).seal('whsec_before');
    // What the service builds from the config (src/service/service.ts).
    const c = loadConfig({ dir, env: { ...base, FORCEHOOK_SECRET_KEY: newKey, FORCEHOOK_SECRET_KEY_PREVIOUS: oldKey } });
    const box = SecretBox.fromBase64(c.secretKey, ...c.secretKeyPrevious);
    expect(box.open(sealedBefore)).toBe('whsec_before');
    expect(box.isStale(sealedBefore)).toBe(true);
    const sealedAfter = box.seal('whsec_after');
    expect(box.isStale(sealedAfter)).toBe(false);
    expect(SecretBox.fromBase64(newKey).open(sealedAfter)).toBe('whsec_after');
    // The old key alone cannot open what the new key sealed, nor the new key alone the old ones.
    expect(() => SecretBox.fromBase64(oldKey).open(sealedAfter)).toThrow(/FORCEHOOK_SECRET_KEY/);
    expect(() => SecretBox.fromBase64(newKey).open(sealedBefore)).toThrow(/FORCEHOOK_SECRET_KEY/);
  });
});
