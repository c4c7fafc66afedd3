/**
 * Date and datetime handling. Relative date literals (TODAY, LAST_N_DAYS:n, ...) are evaluated in UTC: the emulator
 * has no per-user time zone, and UTC keeps tests deterministic. Weeks start on Sunday (Salesforce's en_US default).
 */

const DAY = 86_400_000;

const INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/;

/** Milliseconds since the epoch for a SOQL datetime literal or a stored datetime ('...000+0000'); undefined if not one. */
export function parseInstant(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') return undefined;
  const m = INSTANT_RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return t;
}

/** A stored date field ('YYYY-MM-DD'), also accepting a full datetime whose UTC day is taken. */
export function parseDate(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const t = parseInstant(value);
  return t === undefined ? undefined : new Date(t).toISOString().slice(0, 10);
}

export function dayString(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export interface Range {
  /** inclusive, ms */
  start: number;
  /** exclusive, ms */
  end: number;
}

function startOfDay(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}
function startOfWeek(ms: number): number {
  const d = startOfDay(ms);
  return d - new Date(d).getUTCDay() * DAY;
}
function addMonths(ms: number, n: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
}
function startOfMonth(ms: number): number {
  return addMonths(ms, 0);
}
function startOfQuarter(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3, 1);
}
function startOfYear(ms: number, plus = 0): number {
  return Date.UTC(new Date(ms).getUTCFullYear() + plus, 0, 1);
}

interface Spec {
  takesN: boolean;
  range(now: number, n: number): Range;
}

const fixed = (range: (now: number) => Range): Spec => ({ takesN: false, range: (now) => range(now) });
const withN = (range: (now: number, n: number) => Range): Spec => ({ takesN: true, range });

export const DATE_LITERALS = new Map<string, Spec>([
  ['YESTERDAY', fixed((t) => ({ start: startOfDay(t) - DAY, end: startOfDay(t) }))],
  ['TODAY', fixed((t) => ({ start: startOfDay(t), end: startOfDay(t) + DAY }))],
  ['TOMORROW', fixed((t) => ({ start: startOfDay(t) + DAY, end: startOfDay(t) + 2 * DAY }))],
  ['LAST_WEEK', fixed((t) => ({ start: startOfWeek(t) - 7 * DAY, end: startOfWeek(t) }))],
  ['THIS_WEEK', fixed((t) => ({ start: startOfWeek(t), end: startOfWeek(t) + 7 * DAY }))],
  ['NEXT_WEEK', fixed((t) => ({ start: startOfWeek(t) + 7 * DAY, end: startOfWeek(t) + 14 * DAY }))],
  ['LAST_MONTH', fixed((t) => ({ start: addMonths(t, -1), end: startOfMonth(t) }))],
  ['THIS_MONTH', fixed((t) => ({ start: startOfMonth(t), end: addMonths(t, 1) }))],
  ['NEXT_MONTH', fixed((t) => ({ start: addMonths(t, 1), end: addMonths(t, 2) }))],
  ['LAST_90_DAYS', fixed((t) => ({ start: startOfDay(t) - 90 * DAY, end: startOfDay(t) + DAY }))],
  ['NEXT_90_DAYS', fixed((t) => ({ start: startOfDay(t) + DAY, end: startOfDay(t) + 91 * DAY }))],
  ['THIS_QUARTER', fixed((t) => ({ start: startOfQuarter(t), end: addMonths(startOfQuarter(t), 3) }))],
  ['LAST_QUARTER', fixed((t) => ({ start: addMonths(startOfQuarter(t), -3), end: startOfQuarter(t) }))],
  ['NEXT_QUARTER', fixed((t) => ({ start: addMonths(startOfQuarter(t), 3), end: addMonths(startOfQuarter(t), 6) }))],
  ['THIS_YEAR', fixed((t) => ({ start: startOfYear(t), end: startOfYear(t, 1) }))],
  ['LAST_YEAR', fixed((t) => ({ start: startOfYear(t, -1), end: startOfYear(t) }))],
  ['NEXT_YEAR', fixed((t) => ({ start: startOfYear(t, 1), end: startOfYear(t, 2) }))],
  // "Starts with the current day and continues for the past n days": today is included.
  ['LAST_N_DAYS', withN((t, n) => ({ start: startOfDay(t) - n * DAY, end: startOfDay(t) + DAY }))],
  // "Starts 00:00:00 of the next day and continues for the next n days": today is not.
  ['NEXT_N_DAYS', withN((t, n) => ({ start: startOfDay(t) + DAY, end: startOfDay(t) + (n + 1) * DAY }))],
  ['N_DAYS_AGO', withN((t, n) => ({ start: startOfDay(t) - n * DAY, end: startOfDay(t) - (n - 1) * DAY }))],
  ['LAST_N_WEEKS', withN((t, n) => ({ start: startOfWeek(t) - 7 * n * DAY, end: startOfWeek(t) }))],
  ['NEXT_N_WEEKS', withN((t, n) => ({ start: startOfWeek(t) + 7 * DAY, end: startOfWeek(t) + 7 * (n + 1) * DAY }))],
  ['N_WEEKS_AGO', withN((t, n) => ({ start: startOfWeek(t) - 7 * n * DAY, end: startOfWeek(t) - 7 * (n - 1) * DAY }))],
  ['LAST_N_MONTHS', withN((t, n) => ({ start: addMonths(t, -n), end: startOfMonth(t) }))],
  ['NEXT_N_MONTHS', withN((t, n) => ({ start: addMonths(t, 1), end: addMonths(t, n + 1) }))],
  ['N_MONTHS_AGO', withN((t, n) => ({ start: addMonths(t, -n), end: addMonths(t, 1 - n) }))],
  ['LAST_N_YEARS', withN((t, n) => ({ start: startOfYear(t, -n), end: startOfYear(t) }))],
  ['NEXT_N_YEARS', withN((t, n) => ({ start: startOfYear(t, 1), end: startOfYear(t, n + 1) }))],
  ['N_YEARS_AGO', withN((t, n) => ({ start: startOfYear(t, -n), end: startOfYear(t, 1 - n) }))],
]);

export function dateLiteralRange(name: string, n: number | undefined, now: Date): Range {
  const spec = DATE_LITERALS.get(name);
  if (!spec) throw new Error(`unknown date literal ${name}`);
  return spec.range(now.getTime(), n ?? 0);
}
