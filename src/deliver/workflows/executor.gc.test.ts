import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { testLogger } from '../../core/log.js';
import type { ForcehookEvent } from '../../events/schema.js';
import { EngineAttempt } from '../dispatcher/attempt.js';
import type { DeliveryAttempt } from '../types.js';
import { createWorkflowExecutor } from './executor.js';
import { defineWorkflow, WorkflowRegistry } from './index.js';
import { leadCreatedEvent } from '../../../testkit/lead-event.js';

// A file of its own: whether a weakly held signal survives depends on what else the
// process did before (other tests here kept it alive by chance and hid the bug).

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const event: ForcehookEvent = leadCreatedEvent;
const subscription = (workflow: string) =>
  ({
    id: 's1',
    connectionId: 'c1',
    trigger: 'record.created',
    object: 'Lead',
    destination: { type: 'workflow', workflow },
    createdAt: event.time,
  }) as DeliveryAttempt<'workflow'>['subscription'];

const exec = createWorkflowExecutor({
  registry: new WorkflowRegistry([
    defineWorkflow({ name: 'slow', timeoutMs: 50, run: () => new Promise(() => undefined) }),
    defineWorkflow({ name: 'hangs', run: () => new Promise(() => undefined) }),
  ]),
  salesforce: { connection: () => ({}) as never, close: () => undefined },
  logger: testLogger(),
});

/** Collects garbage while the run waits, then gives it 2 s to end. */
async function collecting<T>(pending: Promise<T>): Promise<T | 'stuck'> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return Promise.race([pending, new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 2000))]);
}

it("a run that ignores its signal still ends at the workflow's own timeout after a garbage collection", async () => {
  // Was AbortSignal.any([attempt, AbortSignal.timeout(ms)]): Node 20 holds the timeout source only
  // weakly, a collection took it and its timer, and the run waited for the engine's 60 s bound instead.
  const attempt: DeliveryAttempt<'workflow'> = {
    deliveryId: 'd1',
    subscription: subscription('slow'),
    event,
    attempt: 1,
    signal: new AbortController().signal,
    now: Date.now,
  };
  expect(await collecting(exec.execute(attempt))).toEqual({ result: 'retry', error: 'TransientError: workflow run timed out' });
});

it("the engine's abort reaches a run after a garbage collection, through onAbort or through the signal", async () => {
  const engine = new EngineAttempt('d2', subscription('hangs') as never, event, 1, 60_000, Date.now);
  const viaOnAbort = exec.execute(engine as DeliveryAttempt<'workflow'>);
  gc();
  engine.abort(new DOMException('attempt exceeded 60000 ms', 'TimeoutError'));
  expect(await collecting(viaOnAbort)).toEqual({ result: 'retry', error: 'TransientError: workflow run timed out' });

  const ac = new AbortController();
  const viaSignal = exec.execute({ deliveryId: 'd3', subscription: subscription('hangs'), event, attempt: 1, signal: ac.signal, now: Date.now });
  gc();
  ac.abort();
  expect(await collecting(viaSignal)).toEqual({ result: 'retry', error: 'TransientError: workflow run aborted' });
});
