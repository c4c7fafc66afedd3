import type { Connection } from 'jsforce';
import { ForcehookError, TransientError, isReauthRequired } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { forcehookEventSchema } from '../../events/schema.js';
import { onAttemptAbort, type AttemptOutcome, type DeliveryAttempt, type Executor } from '../types.js';
import { DEFAULT_WORKFLOW_TIMEOUT_MS } from './define.js';
import type { WorkflowRegistry } from './registry.js';

/** The org connections workflows run against (the service's org sessions). */
export interface OrgConnections {
  /** A jsforce Connection for the connection's org, or a delivery error saying why not. */
  connection(connectionId: string): Connection;
  close(): void;
}

export interface WorkflowExecutorDeps {
  registry: WorkflowRegistry;
  salesforce: OrgConnections;
  logger: Logger;
}

/** Outcome errors land in the API and the DLQ: one line, bounded. */
const MAX_ERROR = 500;
const short = (s: string) => (s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR - 1)}…` : s);

/**
 * Runs workflows as a destination of the delivery engine, so they inherit its
 * retry topics, dead-letter topic, per-subscription concurrency and breaker:
 * a failing workflow slows only its own subscription.
 */
export function createWorkflowExecutor(deps: WorkflowExecutorDeps): Executor<'workflow'> {
  return {
    type: 'workflow',
    async execute(attempt: DeliveryAttempt<'workflow'>): Promise<AttemptOutcome> {
      const name = attempt.subscription.destination.workflow;
      const workflow = deps.registry.get(name);
      // Subscriptions are checked at creation; this is a config that changed since, on some instance.
      if (!workflow) return { result: 'dead', error: `workflow '${name}' is not registered on this instance` };
      const parsed = forcehookEventSchema.safeParse(attempt.event);
      if (!parsed.success) return { result: 'dead', error: short(`event is not a forcehook event: ${parsed.error.issues[0]?.message ?? 'invalid'}`) };
      const event = parsed.data;
      const logger = deps.logger.child({ workflow: name, subscriptionId: attempt.subscription.id, eventId: event.id, attempt: attempt.attempt });
      const run = runSignal(attempt, workflow.timeoutMs ?? DEFAULT_WORKFLOW_TIMEOUT_MS);
      const { signal } = run;
      try {
        const salesforce = deps.salesforce.connection(event.data.connectionId);
        await untilAborted(
          Promise.resolve().then(() => workflow.run(event, { salesforce, logger, attempt: attempt.attempt, signal, subscriptionId: attempt.subscription.id })),
          signal,
        );
        logger.debug('workflow run succeeded');
        return { result: 'delivered' };
      } catch (err) {
        const outcome = classify(err);
        logger.warn({ err, outcome: outcome.result }, 'workflow run failed');
        return outcome;
      } finally {
        run.dispose();
      }
    },
    async close() {
      deps.salesforce.close();
    },
  };
}

/**
 * Only an error marked non-retriable (TerminalError) skips the schedule. Anything
 * else a workflow throws, bugs included, is retried: a fix deployed within the
 * schedule then still runs the event.
 */
export function classify(err: unknown): AttemptOutcome {
  const message = short(err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err));
  // A revoked grant is fixed by a person re-authorizing, usually well within the schedule.
  if (isReauthRequired(err)) return { result: 'retry', error: message };
  if (err instanceof ForcehookError && !err.retriable) return { result: 'dead', error: message };
  if (err instanceof TransientError && err.retryAfterMs !== undefined) return { result: 'retry', error: message, retryAfterMs: err.retryAfterMs };
  return { result: 'retry', error: message };
}

/**
 * The run's signal: aborted by the engine's attempt or by the workflow's own
 * timeout. Not `AbortSignal.any([attempt.signal, AbortSignal.timeout(ms)])`:
 * on Node 20 a combined signal holds its sources only weakly, and a timeout
 * signal's timer holds it weakly too, so a collection while the workflow waits
 * takes the timeout and its timer: the workflow's own `timeoutMs` never fired
 * and the run lasted until the engine's attempt bound. Here the timer and the
 * attempt hold the controller strongly until the run is over.
 */
function runSignal(attempt: DeliveryAttempt<'workflow'>, timeoutMs: number): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`workflow run exceeded ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  const unlisten = onAttemptAbort(attempt, (reason) => ac.abort(reason));
  return {
    signal: ac.signal,
    dispose() {
      clearTimeout(timer);
      unlisten();
    },
  };
}

/**
 * A run that ignores its signal cannot be stopped, only abandoned: the attempt
 * then counts as failed and the run's late effects must be idempotent anyway.
 */
function untilAborted<T>(run: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof DOMException && r.name === 'TimeoutError') return new TransientError('TIMEOUT', 'workflow run timed out');
  return new TransientError('ABORTED', 'workflow run aborted');
}
