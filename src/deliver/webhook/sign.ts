import { Webhook } from 'standardwebhooks';
import type { SecretBox } from '../../core/secrets.js';
import type { SubscriptionRecord } from '../../state/records.js';

/**
 * Secrets that sign right now: the newest, plus any rotated-out one whose
 * overlap (`expiresAt`, 24 h after rotation) has not ended. Receivers verify
 * with whichever they hold, so a rotation never breaks a receiver mid-deploy.
 */
export function validSecrets(sub: Pick<SubscriptionRecord, 'secrets'>, box: SecretBox, now: number): string[] {
  return (sub.secrets ?? []).filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > now).map((s) => box.open(s.sealed));
}

/**
 * Standard Webhooks v1 headers (standard-webhooks spec §Signature scheme): the
 * signed content is `id.timestamp.body` over the exact bytes sent, the
 * timestamp is the attempt's, and one `v1,<sig>` per valid secret,
 * space-separated.
 */
export function signatureHeaders(msgId: string, body: string, secrets: readonly string[], now: number): Record<string, string> {
  const at = new Date(Math.floor(now / 1000) * 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(msgId, at, body)).join(' '),
  };
}
