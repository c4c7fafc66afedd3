import type { Connection } from 'jsforce';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { ForcehookEvent } from '../../events/schema.js';

/** What a workflow run gets besides the event. */
export interface WorkflowContext {
  /**
   * An authenticated jsforce Connection for the event's org. Its token refresh is
   * single-flight per org and instance, shared with the org's change subscriber.
   */
  salesforce: Connection;
  logger: Logger;
  /** 1 on the first run of this delivery; higher on retries (at-least-once: make steps idempotent). */
  attempt: number;
  /** Aborted when the run times out or the service stops: pass it on to long waits. */
  signal: AbortSignal;
  /** The subscription whose destination started this run. */
  subscriptionId: string;
}

export interface WorkflowDefinition {
  /** How subscriptions refer to it: `{"type":"workflow","workflow":"<name>"}`. */
  name: string;
  /**
   * Resolving is success. Throwing is a failure retried on the delivery schedule, then dead-lettered;
   * throw a `TerminalError` for a failure no retry can fix: it goes to the dead-letter topic at once.
   */
  run(event: ForcehookEvent, ctx: WorkflowContext): Promise<unknown> | unknown;
  /**
   * Longest a single run may take before its signal aborts and the attempt counts as failed. The delivery
   * engine bounds every attempt too (`attemptTimeoutMs`, 60 s): the smaller of the two wins. @default 60000
   */
  timeoutMs?: number;
}

export interface Workflow extends Readonly<WorkflowDefinition> {
  readonly [WORKFLOW]: true;
}

// A registered symbol, not a module-local one: a workflow module may import defineWorkflow through another
// path (the package entry, a build in dist/) than the service did, and must still be recognized.
const WORKFLOW: unique symbol = Symbol.for('forcehook.workflow') as never;

/** Names travel in URLs, logs and subscription records: keep them plain. */
export const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const DEFAULT_WORKFLOW_TIMEOUT_MS = 60_000;

export function defineWorkflow(def: WorkflowDefinition): Workflow {
  if (typeof def?.name !== 'string' || !WORKFLOW_NAME.test(def.name)) {
    throw new ConfigError('workflows', `workflow name ${JSON.stringify(def?.name)} must match ${WORKFLOW_NAME}`);
  }
  if (typeof def.run !== 'function') throw new ConfigError('workflows', `workflow '${def.name}': run must be a function`);
  if (def.timeoutMs !== undefined && !(Number.isInteger(def.timeoutMs) && def.timeoutMs > 0)) {
    throw new ConfigError('workflows', `workflow '${def.name}': timeoutMs must be a positive integer`);
  }
  return Object.freeze({ ...def, [WORKFLOW]: true as const });
}

export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WORKFLOW] === true;
}
