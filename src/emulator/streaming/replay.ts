import type { EventBus } from './bus.js';
import * as E from './errors.js';
import type { Msg } from './wire.js';

/**
 * Where a subscription starts, from the subscribe's replay extension: `null`
 * at the tip (no map, or -1), `-Infinity` for every retained event (-2), or
 * after a retained replay id. Without a replay map Salesforce starts at the
 * tip; with one, the map must name the channel. Returns the error otherwise.
 */
export function replayStart(msg: Msg, sub: string, bus: EventBus): { after: number | null } | { error: string } {
  const ext = msg['ext'] as Msg | undefined;
  const map = ext && typeof ext === 'object' ? ext['replay'] : undefined;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) return { after: null };
  const raw = Object.prototype.hasOwnProperty.call(map, sub) ? (map as Msg)[sub] : undefined;
  if (raw === undefined || raw === null) return { error: E.replayMapMismatch(sub, map as Msg) };
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (value === -1) return { after: null };
  if (value === -2) return { after: -Infinity };
  if (Number.isInteger(value) && value >= 0 && bus.isValidReplayId(value)) return { after: value };
  return { error: E.invalidReplayId(raw) };
}
