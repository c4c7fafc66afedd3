/**
 * Workflows: subscriptions with a workflow destination run in-process
 * workflows loaded from config, with `ctx.salesforce` authenticated for the
 * event's org, under the delivery engine's retry and dead-letter semantics.
 * The org is the emulator; the service, broker and delivery engine are real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventConsumer } from '../../src/consumer/index.js';
import { loadConfig } from '../../src/config/load.js';
import { testLogger } from '../../src/core/log.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { forcehookEventSchema, type ForcehookEvent } from '../../src/events/schema.js';
import { startService, type RunningService } from '../../src/service/service.js';
import { testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { API_TOKEN, SECRET_KEY, createOrg, orgUser, startTestEmulator, waitUntil, type OrgCredentials } from '../../testkit/service.js';
import { RETRY_SAFE_SUBJECT, workflowRuns } from '../../testkit/fixtures/workflow-fixtures.js';

let emulator: RunningEmulator;
let service: RunningService;
let org: OrgCredentials;
let connectionId: string;
let prefix: string;
const subs: Record<string, string> = {};

async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

beforeAll(async () => {
  emulator = await startTestEmulator();
  org = await createOrg(emulator.url);
  prefix = uniquePrefix('workflows');
  const config = loadConfig({
    env: {},
    overrides: {
      kafka: { brokers: testBrokers(), topicPrefix: prefix, clientId: `forcehook-${prefix}` },
      http: { port: 0 },
      apiToken: API_TOKEN,
      secretKey: SECRET_KEY,
      allowPrivateNetworks: true,
      salesforceHosts: ['127.0.0.1'],
      pollIntervalS: 1,
      logLevel: 'silent',
      // Hours scaled down to milliseconds: two retries, then the dead-letter topic.
      retrySchedule: [100, 200],
      // By name from config/workflows/, and by path, as an operator would list them.
      workflows: ['lead-followup', 'testkit/fixtures/workflow-fixtures.ts'],
    },
  });
  service = await startService({ config, logger: testLogger() });
  await service.loaded;
  const created = await api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(created.status).toBe(201);
  connectionId = created.body.id;
  for (const workflow of ['lead-followup', 'followup-flaky', 'refuses', 'stalls']) {
    const r = await api<{ id: string }>('POST', '/v1/subscriptions', {
      connectionId,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'workflow', workflow },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    subs[workflow] = r.body.id;
  }
  await waitUntil(
    async () => {
      const r = await api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${connectionId}`);
      return r.body.subscriber === 'running' && r.body.objects.some((o) => o.object === 'Lead' && o.mode === 'cdc');
    },
    30_000,
    'Lead followed by CDC',
  );
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await emulator?.close();
});

type Task = { Id: string; WhoId: string; Subject: string };
const tasksOf = async (leadId: string) => (await orgUser(org).query<Task>(`SELECT Id, WhoId, Subject FROM Task WHERE WhoId = '${leadId}'`)).records;

describe('workflows end to end', () => {
  it('refuses a subscription to a workflow that is not registered, naming destination.workflow', async () => {
    const r = await api<{ error: { code: string; message: string } }>('POST', '/v1/subscriptions', {
      connectionId,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'workflow', workflow: 'no-such-workflow' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/^body\.destination\.workflow: unknown workflow 'no-such-workflow'/);
    expect(r.body.error.message).toContain('followup-flaky, lead-followup, refuses, stalls');
  });

  it('a Lead creation starts lead-followup, which creates a Task on that Lead through ctx.salesforce', async () => {
    const lead = await orgUser(org).sobject('Lead').create({ FirstName: 'Ada', LastName: 'Lovelace', Company: 'Analytical Engines' });
    const leadId = lead.id!;
    await waitUntil(async () => (await tasksOf(leadId)).some((t) => t.Subject.startsWith('Follow up with')), 30_000, 'the follow-up Task');
    const followUps = (await tasksOf(leadId)).filter((t) => t.Subject.startsWith('Follow up with'));
    expect(followUps).toHaveLength(1);
    expect(followUps[0]).toMatchObject({ WhoId: leadId, Subject: 'Follow up with Ada Lovelace (Analytical Engines)' });
  }, 60_000);

  it('a workflow that throws twice runs three times, its Task exists once; a refusing one is dead-lettered at once; neither blocks the others', async () => {
    const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Hopper', Company: 'Navy' });
    const leadId = lead.id!;
    const runs = (w: string) => workflowRuns.get(`${w}:${leadId}`) ?? [];
    await waitUntil(() => runs('followup-flaky').length >= 3, 30_000, 'three runs of followup-flaky');
    await waitUntil(
      async () => {
        const r = await api<{ delivery: { delivered: number } }>('GET', `/v1/subscriptions/${subs['followup-flaky']}`);
        return r.body.delivery.delivered >= 1;
      },
      10_000,
      'followup-flaky delivered',
    );
    // Settle: nothing runs again after the success.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(runs('followup-flaky')).toEqual([1, 2, 3]);
    const tasks = await tasksOf(leadId);
    expect(tasks.filter((t) => t.Subject === RETRY_SAFE_SUBJECT)).toHaveLength(1);
    // The healthy workflow ran for this lead too, once.
    expect(tasks.filter((t) => t.Subject.startsWith('Follow up with'))).toHaveLength(1);

    // TerminalError: one run, no retry, straight to the dead-letter topic.
    await waitUntil(
      async () => {
        const r = await api<{ delivery: { dlqCount: number } }>('GET', `/v1/subscriptions/${subs.refuses}`);
        return r.body.delivery.dlqCount >= 2; // this lead and the one of the previous test
      },
      15_000,
      'refuses dead-lettered',
    );
    expect(runs('refuses')).toEqual([1]);
    const refused = await api<{ delivery: { lastError?: string; state: string } }>('GET', `/v1/subscriptions/${subs.refuses}`);
    expect(refused.body.delivery.lastError).toContain('this workflow refuses every lead');
  }, 60_000);

  it('a workflow that hangs holds up only its own subscription', async () => {
    const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Turing', Company: 'NPL' });
    const leadId = lead.id!;
    const started = Date.now();
    await waitUntil(async () => (await tasksOf(leadId)).some((t) => t.Subject.startsWith('Follow up with')), 30_000, 'the follow-up Task');
    // Seconds, not the 60 s the stalled run may take before the engine gives up on it.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(workflowRuns.get(`stalls:${leadId}`)).toEqual([1]);
    const stalled = await api<{ delivery: { delivered: number } }>('GET', `/v1/subscriptions/${subs.stalls}`);
    expect(stalled.body.delivery.delivered).toBe(0);
  }, 60_000);
});

describe("createEventConsumer on the service's topic", () => {
  it('receives the selected types only, parsed and valid', async () => {
    const got: ForcehookEvent[] = [];
    const consumer = await createEventConsumer({
      brokers: testBrokers(),
      groupId: uniquePrefix('reader'),
      topicPrefix: prefix,
      types: ['record.updated'],
      fromBeginning: true,
      handler: (e) => void got.push(e),
      logger: testLogger(),
    });
    try {
      const user = orgUser(org);
      const lead = await user.sobject('Lead').create({ LastName: 'Hamilton', Company: 'MIT' });
      await user.sobject('Lead').update({ Id: lead.id!, Company: 'NASA' });
      await waitUntil(() => got.some((e) => e.subject === lead.id), 30_000, 'the update event');
      expect(got.every((e) => e.type === 'salesforce.record.updated')).toBe(true);
      expect(got.every((e) => forcehookEventSchema.safeParse(e).success)).toBe(true);
      const update = got.find((e) => e.subject === lead.id)!;
      expect(update.data).toMatchObject({ orgId: org.orgId, connectionId, object: 'Lead', changeType: 'UPDATE' });
      expect(update.data.changedFields).toContain('Company');
    } finally {
      await consumer.stop();
    }
  }, 60_000);
});
