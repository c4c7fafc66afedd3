import type { Connection } from 'jsforce';
import { objectForChangeEvent } from './channels.js';
import { withTimeout } from '../core/timeout.js';

/**
 * Which entities the org publishes change events for: its CDC selection,
 * stored as PlatformEventChannelMember rows. An entity not
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

/** A permission of the connecting user that streaming needs and the org says it lacks. */
export type MissingPermission = 'view_setup' | 'view_all_data';

/** What the service may stream, as the org answers for the connecting user. */
export interface StreamingAccess {
  /** The CDC-selected objects (lower case); undefined when the user may not read the selection. */
  selection: Set<string> | undefined;
  missing: Set<MissingPermission>;
}

/**
 * How Salesforce refuses a query of an object the user may not see: a setup object read without
 * View Setup and Configuration is "not supported" (INVALID_TYPE), like an object that does not exist.
 */
const REFUSALS = new Set(['INVALID_TYPE', 'INSUFFICIENT_ACCESS', 'INSUFFICIENT_ACCESS_OR_READONLY', 'INSUFFICIENT_PRIVILEGES']);

function refused(err: unknown): boolean {
  const code = (err as { errorCode?: unknown } | undefined)?.errorCode;
  return typeof code === 'string' && REFUSALS.has(code);
}

/**
 * The user's own system permissions (UserPermissionAccess, readable by every user). Undefined when
 * the org refuses the object: then nothing is known and streaming is tried as before.
 */
async function userPermissions(conn: Connection, timeoutMs: number): Promise<{ viewSetup?: boolean; viewAllData?: boolean } | undefined> {
  try {
    const res = await withTimeout(
      Promise.resolve(
        conn.query<{ PermissionsViewSetup?: unknown; PermissionsViewAllData?: unknown }>(
          'SELECT PermissionsViewSetup, PermissionsViewAllData FROM UserPermissionAccess',
        ),
      ),
      timeoutMs,
      "reading the user's permissions",
    );
    const row = res.records[0];
    if (!row) return undefined;
    return {
      ...(typeof row.PermissionsViewSetup === 'boolean' ? { viewSetup: row.PermissionsViewSetup } : {}),
      ...(typeof row.PermissionsViewAllData === 'boolean' ? { viewAllData: row.PermissionsViewAllData } : {}),
    };
  } catch (err) {
    if (refused(err)) return undefined;
    throw err;
  }
}

/**
 * Reads whether the org will stream to the connecting user, and what. Without "View All Data"
 * Salesforce refuses our single-entity channels (or withholds their events), and the user's
 * permissions say so before any subscribe; without "View Setup and Configuration" the CDC
 * selection cannot be read. Only failures worth retrying (network, timeouts, 5xx) are thrown.
 */
export async function readStreamingAccess(conn: Connection, timeoutMs = 30_000): Promise<StreamingAccess> {
  const missing = new Set<MissingPermission>();
  const perms = await userPermissions(conn, timeoutMs);
  if (perms?.viewAllData === false) missing.add('view_all_data');
  if (perms?.viewSetup === false) {
    // The Tooling query would only be refused: spare the org the call.
    missing.add('view_setup');
    return { selection: undefined, missing };
  }
  try {
    return { selection: await cdcSelectedObjects(conn, timeoutMs), missing };
  } catch (err) {
    if (!refused(err)) throw err;
    missing.add('view_setup');
    return { selection: undefined, missing };
  }
}
