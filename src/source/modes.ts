import type { Connection } from 'jsforce';
import { objectForChangeEvent } from './channels.js';

/**
 * Which entities the org publishes change events for: its CDC selection,
 * stored as PlatformEventChannelMember rows (reference §2.11). An entity not
 * selected produces no events, so its subscriptions are served by polling.
 */
export async function cdcSelectedObjects(conn: Connection): Promise<Set<string>> {
  const res = await conn.tooling.query<{ SelectedEntity: string }>(
    "SELECT Id, DeveloperName, EventChannel, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = 'ChangeEvents'",
  );
  const out = new Set<string>();
  for (const row of res.records) {
    const object = objectForChangeEvent(row.SelectedEntity);
    if (object) out.add(object.toLowerCase());
  }
  return out;
}
