import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ForcehookError } from './errors.js';

/**
 * Secrets at rest (OAuth tokens, client secrets, webhook secrets) are sealed with
 * AES-256-GCM under FORCEHOOK_SECRET_KEY. The format carries a version and a key
 * id so the key can be rotated: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url).
 */
export class SecretBox {
  readonly #keys: Map<string, Buffer>;
  readonly #current: string;

  /** `keys[0]` encrypts; all of them decrypt (rotation: put the new key first). */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new ForcehookError('CONFIG_INVALID', 'SecretBox needs a key');
    this.#keys = new Map();
    for (const key of keys) {
      if (key.length !== 32) throw new ForcehookError('CONFIG_INVALID', 'FORCEHOOK_SECRET_KEY must be 32 bytes');
      this.#keys.set(keyId(key), key);
    }
    this.#current = keyId(keys[0]!);
  }

  static fromBase64(...keys: string[]): SecretBox {
    return new SecretBox(keys.map((k) => Buffer.from(k, 'base64')));
  }

  seal(plaintext: string): string {
    const key = this.#keys.get(this.#current)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', this.#current, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const [version, kid, iv, tag, ct] = sealed.split('.');
    const key = kid === undefined ? undefined : this.#keys.get(kid);
    if (version !== 'v1' || !key || iv === undefined || tag === undefined || ct === undefined) {
      throw new ForcehookError('CONFIG_INVALID', 'a stored secret cannot be opened with the configured FORCEHOOK_SECRET_KEY');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new ForcehookError('CONFIG_INVALID', 'a stored secret failed authentication (wrong key or tampered)', { cause });
    }
  }

  /** Whether `sealed` was made with an older key and should be re-sealed. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.#current;
  }
}

/**
 * `open` memoized per sealed string, through `make` (e.g. a signer built from the
 * plaintext). For secrets used on a hot path (a webhook secret signs every
 * delivery): opening is AES-GCM plus base64 work each time. A sealed string is
 * immutable and unique per secret (random IV), so it is a complete cache key:
 * rotation seals a new one, and nothing needs invalidating. Bounded, so
 * deleted subscriptions' secrets age out; per box, so a box never sees a
 * plaintext it could not have opened itself.
 */
export function openedCache<T extends object>(box: SecretBox, make: (plaintext: string) => T, max = 10_000): (sealed: string) => T {
  const cache = new LRUCache<string, T>({ max });
  return (sealed) => {
    let v = cache.get(sealed);
    if (v === undefined) cache.set(sealed, (v = make(box.open(sealed))));
    return v;
  };
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

/**
 * Compares two secrets without leaking where they differ or how long they are:
 * both sides are hashed first, so timingSafeEqual always sees equal lengths
 * (it throws on unequal lengths, which would turn bad input into a 500).
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
