/**
 * Requests Salesforce refuses for one object however often they are sent (a query too wide, too complex,
 * a field gone): shown on the connection as warnings until a read of that object succeeds again, so that
 * an operator sees why its changes stop instead of finding a retry loop in the logs.
 */
import { ForcehookError, isKnownTransient } from '../core/errors.js';
import type { ConnectionWarning } from './status.js';
import { errorCodeOf } from '../salesforce/rest.js';

interface Refusal {
  code: string;
  message: string;
  since: number;
}

export class ObjectWarnings {
  readonly #refused = new Map<string, Refusal>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Remembers `err` for `object` when no retry can fix it; returns whether it did. */
  failed(object: string, err: unknown): boolean {
    // Only Salesforce's answers: a broker refusing our credentials is another warning's business.
    if (!(err instanceof ForcehookError) || err.code !== 'SALESFORCE' || isKnownTransient(err)) return false;
    const code = errorCodeOf(err) ?? err.code;
    const known = this.#refused.get(object.toLowerCase());
    this.#refused.set(object.toLowerCase(), { code, message: `${object}: ${err.message}`, since: known?.since ?? this.now() });
    return true;
  }

  succeeded(object: string): void {
    this.#refused.delete(object.toLowerCase());
  }

  list(): ConnectionWarning[] {
    return [...this.#refused.values()].map((r) => ({
      code: 'object_read_refused',
      message: `Salesforce refused reading changes (${r.code}); they are not followed until it succeeds again. ${r.message}`,
      since: new Date(r.since).toISOString(),
    }));
  }
}
