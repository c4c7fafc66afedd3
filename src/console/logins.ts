import { randomBytes } from 'node:crypto';

/**
 * One-time console sign-in links: a random token that stands for an API key
 * for a few minutes and can be redeemed once. `npm start` prints the console's
 * address with such a token in its fragment (`/console#login=...`): the key
 * itself never appears in a URL, and the fragment is neither sent to the
 * server with the page request nor passed on as a Referer. The page trades the
 * token for the key (`POST /console/login`) and keeps the key in the tab's
 * session storage, as if it had been typed in. Tokens live in the memory of
 * the instance that issued them.
 */
export class ConsoleLogins {
  readonly #tokens = new Map<string, { key: string; expiresAt: number }>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(key: string): string {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, { key, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** The key, once; undefined for an unknown, used or expired token. */
  redeem(token: string): string | undefined {
    for (const [t, v] of this.#tokens) if (v.expiresAt <= this.now()) this.#tokens.delete(t);
    const entry = this.#tokens.get(token);
    this.#tokens.delete(token);
    return entry?.key;
  }
}
