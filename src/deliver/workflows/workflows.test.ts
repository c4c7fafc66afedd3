import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { subscriptionsRouter } from '../../api/subscriptions.js';
import { ConfigError, TerminalError, TransientError } from '../../core/errors.js';
import { testLogger } from '../../core/log.js';
import { SecretBox } from '../../core/secrets.js';
import type { ForcehookEvent } from '../../events/schema.js';
import { createHttpApp } from '../../http/app.js';
import { createMetrics } from '../../observability/metrics.js';
import { ReauthRequiredError } from '../../salesforce/oauth.js';
import type { ServiceStore } from '../../state/store.js';
import type { DeliveryAttempt } from '../types.js';
import leadFollowup from '../../../config/workflows/lead-followup.js';
import { classify, createWorkflowExecutor } from './executor.js';
import { defineWorkflow, isWorkflow, loadWorkflows, resolveWorkflowPath, WorkflowRegistry, type WorkflowContext } from './index.js';
import { leadCreatedEvent, TEST_LEAD, TEST_ORG } from '../../../testkit/lead-event.js';

const ROOT = join(import.meta.dirname, '../../..');
const FIX = 'testkit/fixtures/workflows';

describe('defineWorkflow', () => {
  it('types run(event, ctx) with our event and an authenticated jsforce Connection', () => {
    const w = defineWorkflow({
      name: 'typed',
      async run(event, ctx) {
        expectTypeOf(event).toEqualTypeOf<ForcehookEvent>();
        expectTypeOf(event.data.recordId).toBeString();
        expectTypeOf(event.type).toEqualTypeOf<ForcehookEvent['type']>();
        expectTypeOf(ctx).toEqualTypeOf<WorkflowContext>();
        expectTypeOf(ctx.salesforce).toEqualTypeOf<Connection>();
        expectTypeOf(ctx.attempt).toBeNumber();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
        // @ts-expect-error: no such event field
        void event.data.nope;
      },
    });
    expect(isWorkflow(w)).toBe(true);
    expect(Object.isFrozen(w)).toBe(true);
    // @ts-expect-error: a workflow needs run
    expect(() => defineWorkflow({ name: 'no-run' })).toThrow(ConfigError);
  });

  it('refuses names a subscription could not carry', () => {
    expect(() => defineWorkflow({ name: '', run: () => undefined })).toThrow(/workflow name/);
    expect(() => defineWorkflow({ name: 'has space', run: () => undefined })).toThrow(/workflow name/);
    expect(() => defineWorkflow({ name: 'x'.repeat(201), run: () => undefined })).toThrow(/workflow name/);
    expect(() => defineWorkflow({ name: 'ok', run: () => undefined, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(isWorkflow({ name: 'plain', run: () => undefined })).toBe(false);
  });
});

describe('loading workflows from config', () => {
  it('takes default and named exports, each workflow once', async () => {
    const r = await loadWorkflows([`${FIX}/default-export.ts`, `${FIX}/named-exports`], { root: ROOT });
    expect(r.names()).toEqual(['fixture-default', 'fixture-first', 'fixture-second']);
    expect(r.get('fixture-second')?.name).toBe('fixture-second');
    expect(r.has('plain')).toBe(false);
  });

  it('finds a bare name in config/workflows/: the example is loadable by name', async () => {
    expect(resolveWorkflowPath('lead-followup', ROOT)).toBe(join(ROOT, 'config/workflows/lead-followup.ts'));
    const r = await loadWorkflows(['lead-followup'], { root: ROOT });
    expect(r.names()).toEqual(['lead-followup']);
    expect(r.get('lead-followup')).toBe(leadFollowup);
  });

  it('stops start-up with one line naming the entry', async () => {
    await expect(loadWorkflows(['missing-workflow'], { root: ROOT })).rejects.toThrow(/^workflows: missing-workflow: no such module/);
    await expect(loadWorkflows([`${FIX}/none.ts`], { root: ROOT })).rejects.toThrow(/none\.ts: exports no workflow/);
    await expect(loadWorkflows([`${FIX}/broken.ts`], { root: ROOT })).rejects.toThrow(/broken\.ts: could not be loaded \(this module fails on import\)/);
    await expect(loadWorkflows([`${FIX}/default-export.ts`, `${FIX}/duplicate.ts`], { root: ROOT })).rejects.toThrow(
      /workflow 'fixture-default' is defined twice \(again in .*duplicate\.ts\)/,
    );
  });

  it('an empty list is an empty registry', async () => {
    expect((await loadWorkflows([])).size).toBe(0);
  });
});

describe('POST /v1/subscriptions with a workflow destination', () => {
  const TOKEN = 'test-token-0123456789abcdef';
  let server: Server;
  let base: string;
  const saved: unknown[] = [];
  beforeAll(async () => {
    const store = {
      connection: (id: string) => (id === 'c1' ? { id: 'c1' } : undefined),
      putSubscription: async (s: unknown) => void saved.push(s),
    } as unknown as ServiceStore;
    const registry = new WorkflowRegistry([defineWorkflow({ name: 'lead-followup', run: () => undefined })]);
    const router = subscriptionsRouter({
      store,
      box: SecretBox.fromBase64(Buffer.alloc(32, 7).toString('base64')),
      allowPrivateNetworks: true,
      workflows: registry,
    });
    const app = createHttpApp({ apiToken: TOKEN, bodyLimit: '16kb', logger: testLogger(), metrics: createMetrics(), ready: async () => true, v1: [router] });
    server = app.listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  const post = (workflow: string) =>
    fetch(`${base}/v1/subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connectionId: 'c1', trigger: 'record.created', object: 'Lead', destination: { type: 'workflow', workflow } }),
    });

  it('refuses an unknown name with a 400 naming destination.workflow', async () => {
    const res = await post('no-such-flow');
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('VALIDATION');
    expect(body.error.message).toBe("body.destination.workflow: unknown workflow 'no-such-flow' (registered: lead-followup)");
    expect(saved).toHaveLength(0);
  });

  it('accepts a registered one, without a secret', async () => {
    const res = await post('lead-followup');
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.destination).toEqual({ type: 'workflow', workflow: 'lead-followup' });
    expect(body.secret).toBeUndefined();
    expect(saved).toHaveLength(1);
  });
});

const ORG = TEST_ORG;
const LEAD = TEST_LEAD;
const event: ForcehookEvent = leadCreatedEvent;

function attemptFor(workflow: string, n = 1, signal = new AbortController().signal): DeliveryAttempt<'workflow'> {
  return {
    deliveryId: `s1:${event.id}`,
    subscription: {
      id: 's1',
      connectionId: 'c1',
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'workflow', workflow },
      createdAt: event.time,
    },
    event: { ...event, partitionkey: `${ORG}:${LEAD}` },
    attempt: n,
    signal,
    now: () => Date.now(),
  };
}

describe('the workflow executor', () => {
  const conn = { marker: 'jsforce' } as unknown as Connection;
  const seen: { event: ForcehookEvent; ctx: WorkflowContext }[] = [];
  const registry = new WorkflowRegistry([
    defineWorkflow({ name: 'ok', run: (e, ctx) => void seen.push({ event: e, ctx }) }),
    defineWorkflow({
      name: 'throws',
      run: () => {
        throw new Error('boom');
      },
    }),
    defineWorkflow({
      name: 'terminal',
      run: () => {
        throw new TerminalError('VALIDATION', 'lead has no company');
      },
    }),
    defineWorkflow({ name: 'slow', timeoutMs: 50, run: () => new Promise(() => undefined) }),
    defineWorkflow({
      name: 'bug',
      run: () => {
        throw new TypeError('x is undefined');
      },
    }),
  ]);
  const salesforce = {
    connection: (id: string) => {
      if (id !== 'c1') throw new TerminalError('NOT_FOUND', `connection ${id} no longer exists`);
      return conn;
    },
    close: () => undefined,
  };
  const exec = createWorkflowExecutor({ registry, salesforce, logger: testLogger() });

  it('runs the named workflow with the validated event and the org connection', async () => {
    expect(await exec.execute(attemptFor('ok', 2))).toEqual({ result: 'delivered' });
    expect(seen[0]!.event).toEqual(event); // extensions such as partitionkey are not part of our event type
    expect(seen[0]!.ctx.salesforce).toBe(conn);
    expect(seen[0]!.ctx.attempt).toBe(2);
    expect(seen[0]!.ctx.subscriptionId).toBe('s1');
  });

  it('a throw is retried, a TerminalError dead-lettered, a bug retried, a timeout retried', async () => {
    expect(await exec.execute(attemptFor('throws'))).toEqual({ result: 'retry', error: 'boom' });
    expect(await exec.execute(attemptFor('terminal'))).toEqual({ result: 'dead', error: 'TerminalError: lead has no company' });
    expect(await exec.execute(attemptFor('bug'))).toEqual({ result: 'retry', error: 'TypeError: x is undefined' });
    expect(await exec.execute(attemptFor('slow'))).toEqual({ result: 'retry', error: 'TransientError: workflow run timed out' });
  });

  it('an unregistered workflow and a foreign event are dead letters', async () => {
    expect((await exec.execute(attemptFor('gone'))).result).toBe('dead');
    const bad = attemptFor('ok');
    expect((await exec.execute({ ...bad, event: { ...bad.event, subject: 'nope' } })).result).toBe('dead');
  });

  it('stops when the engine aborts the attempt', async () => {
    const ac = new AbortController();
    const pending = exec.execute(attemptFor('slow', 1, ac.signal));
    ac.abort();
    expect(await pending).toEqual({ result: 'retry', error: 'TransientError: workflow run aborted' });
  });

  it('classifies a revoked grant as retriable (a person can re-authorize) and keeps Retry-After', () => {
    expect(classify(new ReauthRequiredError('invalid_grant')).result).toBe('retry');
    expect(classify(new TransientError('SALESFORCE_LIMIT', 'limit', { retryAfterMs: 9000 }))).toMatchObject({ result: 'retry', retryAfterMs: 9000 });
    expect(classify('a string').result).toBe('retry');
  });
});
