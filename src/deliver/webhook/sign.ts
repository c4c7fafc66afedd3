import { createHmac } from 'node:crypto';
import { openedCache, type SealedPlace, type SecretBox } from '../../core/secrets.js';
import { sealedPlace, type SubscriptionRecord } from '../../state/records.js';

const PREFIX = 'whsec_';

/**
 * One Standard Webhooks v1 signing key, decoded once. Computes exactly what
 * `new Webhook(secret).sign(id, at, body)` of the `standardwebhooks` package
 * does (base64 HMAC-SHA256 of `id.timestamp.body`; tests compare both), but with
 * node:crypto: the package hashes in pure JavaScript (fast-sha256), which on a
 * ~1 kB body cost more CPU per delivery than the HTTP request itself.
 */
export class Signer {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
    if (this.#key.length === 0) throw new Error("Secret can't be empty.");
  }

  /** `v1,<base64 signature>` for `timestampS` (seconds since the epoch). */
  sign(msgId: string, timestampS: number, body: string): string {
    return `v1,${createHmac('sha256', this.#key).update(`${msgId}.${timestampS}.`).update(body).digest('base64')}`;
  }
}

const signersByBox = new WeakMap<SecretBox, (sealed: string, place: SealedPlace) => Signer>();

/**
 * Signers for the secrets that sign right now: the newest, plus any rotated-out
 * one whose overlap (`expiresAt`, 24 h after rotation) has not ended. Receivers
 * verify with whichever they hold, so a rotation never breaks a receiver
 * mid-deploy. Opened once per sealed secret (cached per box), not per delivery.
 */
export function validSigners(sub: Pick<SubscriptionRecord, 'id' | 'secrets'>, box: SecretBox, now: number): Signer[] {
  let signerOf = signersByBox.get(box);
  if (!signerOf) signersByBox.set(box, (signerOf = openedCache(box, (plaintext) => new Signer(plaintext))));
  const out: Signer[] = [];
  const place = sealedPlace.webhookSecret(sub.id);
  for (const s of sub.secrets ?? []) if (s.expiresAt === undefined || Date.parse(s.expiresAt) > now) out.push(signerOf(s.sealed, place));
  return out;
}

/**
 * Standard Webhooks v1 headers (standard-webhooks spec §Signature scheme): the
 * signed content is `id.timestamp.body` over the exact bytes sent, the
 * timestamp is the attempt's, and one `v1,<sig>` per valid secret,
 * space-separated.
 */
export function signatureHeaders(msgId: string, body: string, signers: readonly Signer[], now: number): Record<string, string> {
  const ts = Math.floor(now / 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(ts),
    'webhook-signature': signers.map((s) => s.sign(msgId, ts, body)).join(' '),
  };
}
