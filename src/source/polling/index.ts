/**
 * The polling source: REST polling for entities not selected for CDC, and the REST reads that repair
 * CDC gaps (reconcile, GAP_* record fetches).
 */
export {
  createPoller,
  DEFAULT_OVERLAP_MS,
  type CycleResult,
  type PollHandleContext,
  type Poller,
  type PollerOptions,
  type PollerSnapshot,
  type PollerState,
} from './poller.js';
export { type PollCursor, freshCursor } from './cursor.js';
export { reconcile, reconcilePages, fetchRecords, type ReconcileCursor, type ReconcilePage, type ReconcileWindow, type ReconcileOptions } from './reconcile.js';
export { createRecordMemory, sharedRecordMemory, type RecordMemory } from './memory.js';
export { budgetDelayMs, nextDelayMs as computeNextDelayMs } from './budget.js';
