/**
 * `commitNumber` is a Java long and real values exceed 2^53 (e.g. 1652977933433528300). faye decodes the
 * CometD response with plain JSON.parse, so by the time a message reaches us the low digits of such a
 * value may already be gone, and nothing downstream can restore them. We therefore:
 * - keep a string verbatim when the source managed to deliver one (emulator, or a transport that ran
 *   `quoteCommitNumbers` over the raw body before parsing);
 * - render a number with its shortest round-trip decimal (`String(n)`), which reproduces the digits
 *   Salesforce sent whenever they had at most 17 significant digits (true for the documented samples),
 *   and never invent digits with exponent notation.
 * commitNumber is diagnostic only (not used for ids or ordering), so a rounded value is a tolerable loss.
 */

export function commitNumberToString(value: unknown): string | undefined {
  if (typeof value === 'string') return /^\d{1,40}$/.test(value) ? value : undefined;
  if (typeof value === 'bigint') return value >= 0n ? value.toString() : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return undefined;
  const s = String(value);
  return /e/i.test(s) ? BigInt(value).toString() : s;
}

const COMMIT_NUMBER_FIELD = /("commitNumber"\s*:\s*)(-?\d+)(?=\s*[,}])/g;

/**
 * For transports that see the raw JSON text: quote every `"commitNumber": <digits>` so JSON.parse keeps
 * it exact. Text inside a JSON string value cannot match, because its quotes are escaped there (`\"`).
 */
export function quoteCommitNumbers(json: string): string {
  return json.replace(COMMIT_NUMBER_FIELD, '$1"$2"');
}
