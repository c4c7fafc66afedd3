import { createCipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * A value in the format SecretBox wrote before sealed values named their place
 * (`v1`: the master key itself, no associated data), as found in state topics
 * written by older versions.
 */
export function sealUnbound(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const kid = createHash('sha256').update(key).digest('base64url').slice(0, 8);
  return ['v1', kid, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}
