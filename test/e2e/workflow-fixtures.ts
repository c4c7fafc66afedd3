/**
 * Workflows the end-to-end tests load through config `workflows`, like an
 * operator's own module would be. Runs are recorded on globalThis: the service
 * runs in the test's process, and the record must not depend on module identity.
 */
import { defineWorkflow, TerminalError, type ForcehookEvent } from 'forcehook';

type Runs = Map<string, number[]>;
const g = globalThis as { __forcehookWorkflowRuns?: Runs };
export const workflowRuns: Runs = (g.__forcehookWorkflowRuns ??= new Map());

function record(workflow: string, event: ForcehookEvent, attempt: number): void {
  const key = `${workflow}:${event.data.recordId}`;
  workflowRuns.set(key, [...(workflowRuns.get(key) ?? []), attempt]);
}

export const RETRY_SAFE_SUBJECT = 'Retry-safe follow-up';

/** Creates its Task (once, whatever the attempt), then fails twice after having done so. */
export const flaky = defineWorkflow({
  name: 'followup-flaky',
  async run(event, { salesforce, attempt }) {
    record('followup-flaky', event, attempt);
    const leadId = event.data.recordId;
    const tasks = await salesforce.query<{ Id: string; Subject: string }>(`SELECT Id, Subject FROM Task WHERE WhoId = '${leadId}'`);
    if (!tasks.records.some((t) => t.Subject === RETRY_SAFE_SUBJECT)) {
      await salesforce.sobject('Task').create({ WhoId: leadId, Subject: RETRY_SAFE_SUBJECT });
    }
    if (attempt < 3) throw new Error(`failing on purpose (attempt ${attempt})`);
  },
});

/** Refuses every event for good: a dead letter without any retry. */
export const refuses = defineWorkflow({
  name: 'refuses',
  run(event, { attempt }) {
    record('refuses', event, attempt);
    throw new TerminalError('VALIDATION', 'this workflow refuses every lead');
  },
});

/** Hangs until its signal aborts (the engine's attempt bound, or the service stopping). */
export const stalls = defineWorkflow({
  name: 'stalls',
  async run(event, { signal, attempt }) {
    record('stalls', event, attempt);
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  },
});
