/**
 * The emulator's one clock. Tests move it (admin `POST /__emulator/clock`) to
 * exercise retention windows, token expiry and rolling limits without waiting.
 * It only ever shifts the real clock by an offset, so time keeps flowing.
 */
export class Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  date(): Date {
    return new Date(this.now());
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  set(epochMs: number): void {
    this.offsetMs = epochMs - Date.now();
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** REST datetime form: `2024-01-02T03:04:05.000+0000`. */
export function sfDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** CometD change-event datetime form: `2024-01-02T03:04:05.000Z`. */
export function cdcDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function sfDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Parses the datetime forms clients send (`Z`, `+0000`, `+00:00`, no seconds). */
export function parseDateTime(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return undefined;
  const normalized = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(normalized);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Salesforce keeps datetimes (SystemModstamp, CreatedDate, LastModifiedDate, a change event's
 * commitTimestamp, getDeleted's deletedDate) to the whole second: every stamp the emulator writes goes
 * through here.
 */
export function floorToSecond(ms: number): number {
  return ms - (((ms % 1000) + 1000) % 1000);
}

export function floorToMinute(ms: number): number {
  return ms - (ms % 60_000);
}
