import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ForcehookError } from './errors.js';

/**
 * Where a sealed value lives: the kind of record, its id and the field. A value
 * sealed for one place opens only there, so a sealed refresh token copied into
 * another connection's record, or handed in as an OAuth state, fails to open.
 * `kind` and `field` also choose the key (one per purpose), `id` is bound as
 * associated data.
 */
export interface SealedPlace {
  kind: string;
  id: string;
  field: string;
}

/**
 * Places whose values may still be in the older, unbound format (`v1`), written
 * before sealed values named their place. They open anywhere, so they are read
 * only for these fields and re-sealed bound (see `isStale`). A field added later
 * never had such values and never accepts them.
 */
const UNBOUND_FORMAT_FIELDS = new Set(['connection.clientSecret', 'connection.refreshToken', 'connection.accessToken', 'subscription.webhookSecret']);

const HKDF_SALT = Buffer.from('forcehook sealed values');

/**
 * Secrets at rest (OAuth tokens, client secrets, webhook secrets) and the OAuth
 * state are sealed with AES-256-GCM. Each purpose (`kind.field`) has its own key,
 * derived from FORCEHOOK_SECRET_KEY with HKDF-SHA256, and the whole place is the
 * associated data. The format carries a version and the id of the master key, so
 * the key can be rotated: `v2.<keyId>.<iv>.<tag>.<ciphertext>` (base64url).
 * `v1` values (the master key itself, no associated data) still open for the
 * fields that had them.
 */
export class SecretBox {
  readonly #keys: Map<string, Buffer>;
  readonly #current: string;
  readonly #derived = new Map<string, Buffer>();

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

  seal(plaintext: string, place: SealedPlace): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#purposeKey(this.#current, place), iv);
    cipher.setAAD(associatedData(place));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', this.#current, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, place: SealedPlace): string {
    const [version, kid, iv, tag, ct] = sealed.split('.');
    const key = kid === undefined ? undefined : this.#keys.get(kid);
    const unbound = version === 'v1' && UNBOUND_FORMAT_FIELDS.has(purpose(place));
    if ((version !== 'v2' && !unbound) || !key || iv === undefined || tag === undefined || ct === undefined) {
      throw new ForcehookError('CONFIG_INVALID', `a stored secret (${purpose(place)}) cannot be opened with the configured FORCEHOOK_SECRET_KEY`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', unbound ? key : this.#purposeKey(kid!, place), Buffer.from(iv, 'base64url'));
      if (!unbound) decipher.setAAD(associatedData(place));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new ForcehookError(
        'CONFIG_INVALID',
        `a stored secret (${purpose(place)}) failed authentication (wrong key, tampered, or sealed for another place)`,
        { cause },
      );
    }
  }

  /** Whether `sealed` should be sealed again: made with an older key, or in the unbound format. */
  isStale(sealed: string): boolean {
    const [version, kid] = sealed.split('.');
    return version !== 'v2' || kid !== this.#current;
  }

  /** `open` then `seal` under the current key, when stale; the same string otherwise. */
  reseal(sealed: string, place: SealedPlace): string {
    return this.isStale(sealed) ? this.seal(this.open(sealed, place), place) : sealed;
  }

  #purposeKey(kid: string, place: SealedPlace): Buffer {
    const p = purpose(place);
    const cacheKey = `${kid}/${p}`;
    let k = this.#derived.get(cacheKey);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.#keys.get(kid)!, HKDF_SALT, `forcehook ${p}`, 32));
      this.#derived.set(cacheKey, k);
    }
    return k;
  }
}

function purpose(place: SealedPlace): string {
  return `${place.kind}.${place.field}`;
}

/** Unambiguous whatever the parts contain (an id with a dot or colon in it). */
function associatedData(place: SealedPlace): Buffer {
  return Buffer.from(JSON.stringify([place.kind, place.id, place.field]));
}

/**
 * `open` memoized per sealed string and place, through `make` (e.g. a signer
 * built from the plaintext). For secrets used on a hot path (a webhook secret
 * signs every delivery): opening is AES-GCM plus base64 work each time. A sealed
 * string is immutable and unique per secret (random IV), so with its place it
 * is a complete cache key (the place is part of it so that a value copied to
 * another place is opened, and refused, there): rotation seals a new one, and
 * nothing needs invalidating. Bounded, so deleted subscriptions' secrets age
 * out; per box, so a box never sees a plaintext it could not have opened itself.
 */
export function openedCache<T extends object>(box: SecretBox, make: (plaintext: string) => T, max = 10_000): (sealed: string, place: SealedPlace) => T {
  const cache = new LRUCache<string, T>({ max });
  return (sealed, place) => {
    const key = `${JSON.stringify([place.kind, place.id, place.field])}${sealed}`;
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = make(box.open(sealed, place))));
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
