import type { Connection } from 'jsforce';
import { objectForChangeEvent } from './channels.js';
import { withTimeout } from './polling/rest.js';

/**
 * Which entities the org publishes change events for: its CDC selection,
 * stored as PlatformEventChannelMember rows (reference §2.11). An entity not
 * selected produces no events, so its subscriptions are served by polling.
 */
export async function cdcSelectedObjects(conn: Connection, timeoutMs = 30_000): Promise<Set<string>> {
  // Bounded: the org's start waits for this, and a read that never answers held its start (and one of
  // the source manager's slots) for good.
  const res = await withTimeout(
    Promise.resolve(
      conn.tooling.query<{ SelectedEntity: string }>(
        "SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents'",
      ),
    ),
    timeoutMs,
    'reading the CDC selection',
  );
  const out = new Set<string>();
  for (const row of res.records) {
    const object = objectForChangeEvent(row.SelectedEntity);
    if (object) out.add(object.toLowerCase());
  }
  return out;
}
