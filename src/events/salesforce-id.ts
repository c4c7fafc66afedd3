/**
 * Salesforce ids come case-sensitive in 15 characters (some older APIs, formulas, user input) or
 * case-insensitive-safe in 18. Events always carry the 18-character form so that ids computed from
 * different sources (CDC, REST, a subscription's campaignId) compare equal.
 */
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const ID15 = /^[a-zA-Z0-9]{15}$/;
const ID18 = /^[a-zA-Z0-9]{18}$/;

export function isSalesforceId(value: unknown): value is string {
  return typeof value === 'string' && (ID15.test(value) || ID18.test(value));
}

/** The 3-character case-safe suffix of a 15-character id: per 5-character chunk, a bit per uppercase letter. */
export function idSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

/** The 18-character form of a 15- or 18-character id; undefined for anything else. */
export function toId18(id: string): string | undefined {
  if (ID18.test(id)) return id;
  if (!ID15.test(id)) return undefined;
  return id + idSuffix(id);
}

/** Compares two ids regardless of their 15/18-character form. */
export function sameSalesforceId(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a == null || b == null) return a == b;
  const x = toId18(a);
  const y = toId18(b);
  return x !== undefined && y !== undefined ? x.toLowerCase() === y.toLowerCase() : a === b;
}
