import type { SecretBox } from '../core/secrets.js';
import { sealedPlace, type ConnectionRecord, type SubscriptionRecord } from './records.js';

/**
 * Re-sealing after a key rotation (or an upgrade from unbound sealed values):
 * each function answers the record with every sealed field under the current
 * key and bound to its place, or undefined when nothing needed it. Opening
 * throws when a value's key is no longer configured.
 */
export function resealConnection(box: SecretBox, c: ConnectionRecord): ConnectionRecord | undefined {
  if (!hasStaleSeals(box, c)) return undefined;
  return {
    ...c,
    clientSecret: box.reseal(c.clientSecret, sealedPlace.connection(c.id, 'clientSecret')),
    refreshToken: box.reseal(c.refreshToken, sealedPlace.connection(c.id, 'refreshToken')),
    ...(c.accessToken !== undefined ? { accessToken: box.reseal(c.accessToken, sealedPlace.connection(c.id, 'accessToken')) } : {}),
  };
}

/** Rotated-out webhook secrets whose overlap ended are dropped rather than re-sealed: nothing signs with them. */
export function resealSubscription(box: SecretBox, s: SubscriptionRecord, now: number): SubscriptionRecord | undefined {
  if (!hasStaleSeals(box, s)) return undefined;
  const place = sealedPlace.webhookSecret(s.id);
  const secrets = (s.secrets ?? [])
    .filter((x) => x.expiresAt === undefined || Date.parse(x.expiresAt) > now)
    .map((x) => ({ ...x, sealed: box.reseal(x.sealed, place) }));
  return { ...s, secrets };
}

/** Whether a record holds a value to re-seal; cheap (nothing is opened). */
export function hasStaleSeals(box: SecretBox, r: ConnectionRecord | SubscriptionRecord): boolean {
  if ('orgId' in r) return box.isStale(r.clientSecret) || box.isStale(r.refreshToken) || (r.accessToken !== undefined && box.isStale(r.accessToken));
  return (r.secrets ?? []).some((x) => box.isStale(x.sealed));
}
