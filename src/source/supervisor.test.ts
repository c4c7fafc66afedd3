/**
 * What the supervisor decides for one org, seen from the outside: which objects are streamed and which
 * polled, that their changes reach the events topic before their positions are checkpointed, and that a
 * revoked grant stops the org instead of retrying. The emulator runs in process and Kafka is the
 * in-memory port, so nothing here needs a broker or a child process.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import type { ConsumedMessage, Producer } from '../kafka/types.js';
import { startEmulator, type RunningEmulator } from '../emulator/server.js';
import { createPublisher } from '../publish/publisher.js';
import { refreshAccessToken } from '../salesforce/oauth.js';
import type { SessionToken, TokenSource } from '../salesforce/tokens.js';
import { checkpointKey, type ConnectionRecord } from '../state/records.js';
import { ServiceStore } from '../state/store.js';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { emulatorEgress } from '../../testkit/source/polling.js';
import { adminCall, createOrg, orgUser, type OrgCredentials } from '../../testkit/service.js';
import { sleep, waitUntil } from '../../testkit/wait.js';
import { OrgSupervisor } from './supervisor.js';
import { toId18 } from '../events/salesforce-id.js';
import { deleteRecord, inTransaction } from '../emulator/dml.js';

const EVENTS = 't.events';
const CHECKPOINTS = 't.checkpoints';
const ACK_MS = 100;
const silent = createLogger({ name: 'test', level: 'silent' });

let em: RunningEmulator;
beforeAll(async () => {
  em = await startEmulator({ port: 0, logger: silent, connectTimeoutMs: 1_000 });
});
afterAll(async () => {
  await em?.close();
});

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Tokens straight from the org's refresh token, as the owning instance's keeper hands them over. */
function tokensOf(org: OrgCredentials): TokenSource & { refreshes: number } {
  let current: SessionToken | undefined;
  const src = {
    refreshes: 0,
    current: () => current,
    refresh: async (): Promise<SessionToken> => {
      src.refreshes++;
      const t = await refreshAccessToken({ loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret }, org.refreshToken, emulatorEgress);
      current = { accessToken: t.access_token, instanceUrl: t.instance_url };
      return current;
    },
  };
  return src;
}

function connectionOf(org: OrgCredentials, id: string): ConnectionRecord {
  return {
    id,
    orgId: org.orgId,
    loginUrl: org.loginUrl,
    instanceUrl: org.instanceUrl,
    clientId: org.clientId,
    clientSecret: 'sealed',
    refreshToken: 'sealed',
    status: 'active',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
}

/**
 * A supervisor for a new org on an in-memory Kafka. Messages are stamped with a counter, so that
 * their timestamps tell the order in which they were written across topics.
 */
async function supervise(orgOptions: Record<string, unknown>) {
  const org = await createOrg(em.url, orgOptions);
  let tick = 0;
  const kafka = new MemoryKafka({ now: () => ++tick });
  const store = new ServiceStore({ client: kafka, stateTopic: 't.state', checkpointTopic: CHECKPOINTS, logger: silent });
  await store.start();
  kafka.createTopic(EVENTS);
  // Kafka takes a while to acknowledge: a checkpoint that does not wait for the ack would land first.
  const instant = kafka.producer();
  const producer: Producer = {
    ...instant,
    send: async (topic, messages) => {
      await sleep(ACK_MS);
      return instant.send(topic, messages);
    },
  };
  const publisher = createPublisher({ topic: EVENTS }, { producer });
  const tokens = tokensOf(org);
  const reauth: string[] = [];
  const connectionId = `conn-${org.orgId}`;
  const sup = new OrgSupervisor({
    connection: connectionOf(org, connectionId),
    tokens,
    store,
    publisher,
    logger: silent,
    pollIntervalMs: 200,
    budgetShare: 1,
    egress: emulatorEgress,
    onReauthRequired: (reason) => reauth.push(reason),
    now: () => em.emulator.clock.now(),
  });
  cleanup.push(async () => {
    await sup.stop();
    await store.stop();
    await kafka.close();
  });
  const events = () => kafka.messages(EVENTS);
  const eventFor = (recordId: string): ConsumedMessage | undefined =>
    events().find((m) => (JSON.parse(m.value!.toString()) as { recordId: string }).recordId.slice(0, 15) === recordId.slice(0, 15));
  const checkpoints = (key: string) => kafka.messages(CHECKPOINTS).filter((m) => m.key === key && m.value !== null);
  return { org, sup, tokens, reauth, connectionId, events, eventFor, checkpoints, user: orgUser(org) };
}

const eventType = (m: ConsumedMessage) => m.headers['ce_type'];
const data = (m: ConsumedMessage) => JSON.parse(m.value!.toString()) as Record<string, unknown>;

describe('OrgSupervisor', () => {
  it('streams a CDC-selected object: a created Lead is on the events topic, and its replay position is checkpointed only after', async () => {
    const s = await supervise({ cdcEntities: ['Lead'] });
    await s.sup.follow(['Lead']);
    expect(s.sup.objectModes().map((o) => [o.object, o.mode])).toEqual([['Lead', 'cdc']]);
    await waitUntil(() => s.sup.view() === 'running', 10_000, 'the Lead channel to be subscribed');

    const { id } = (await s.user.sobject('Lead').create({ LastName: 'Streamed', Company: 'Acme' })) as { id: string };
    await waitUntil(() => s.eventFor(id) !== undefined, 10_000, 'the created Lead on the events topic');
    const event = s.eventFor(id)!;
    expect(eventType(event)).toBe('salesforce.record.created');
    expect(data(event)).toMatchObject({ orgId: s.org.orgId, changeType: 'CREATE', detectedBy: 'cdc' });

    // The replay id that covers the event is written only once the event was on the topic.
    const key = checkpointKey.cdc(s.connectionId, '/data/LeadChangeEvent');
    const covers = (m: ConsumedMessage) => data(m)['replayId'] === data(event)['replayId'];
    await waitUntil(() => s.checkpoints(key).some(covers), 10_000, "a checkpoint of the event's replay id");
    for (const m of s.checkpoints(key).filter(covers)) expect(Number(m.timestamp)).toBeGreaterThan(Number(event.timestamp));
  });

  it('polls an object not selected for CDC: its change arrives, and its cursor is checkpointed only after', async () => {
    const s = await supervise({ cdcEntities: [] });
    await s.sup.follow(['Lead']);
    expect(s.sup.objectModes().map((o) => [o.object, o.mode])).toEqual([['Lead', 'polling']]);
    const key = checkpointKey.poll(s.connectionId, 'Lead');
    // The first poll fixes where the subscription starts; what is created after it is new.
    await waitUntil(() => s.checkpoints(key).length > 0, 10_000, 'the first poll');
    await adminCall(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });

    const { id } = (await s.user.sobject('Lead').create({ LastName: 'Polled', Company: 'Acme' })) as { id: string };
    await waitUntil(() => s.eventFor(id) !== undefined, 10_000, 'the created Lead on the events topic');
    const event = s.eventFor(id)!;
    expect(data(event)).toMatchObject({ orgId: s.org.orgId, changeType: 'CREATE', detectedBy: 'polling' });
    // A cursor at or past the change's stamp covers it: written only once the event was on the topic.
    const covers = (m: ConsumedMessage) => Number(data(m)['systemModstamp']) >= Number(data(event)['commitTimestamp']);
    await waitUntil(() => s.checkpoints(key).some(covers), 10_000, 'a cursor past the change');
    for (const m of s.checkpoints(key).filter(covers)) expect(Number(m.timestamp)).toBeGreaterThan(Number(event.timestamp));
  });

  it('a purged delete log: a polled record deleted before the purge is still a record.deleted, and the connection warns', async () => {
    const s = await supervise({ cdcEntities: [] });
    await s.sup.follow(['Lead']);
    const key = checkpointKey.poll(s.connectionId, 'Lead');
    await waitUntil(() => s.checkpoints(key).length > 0, 10_000, 'the first poll');
    await adminCall(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });
    const { id } = (await s.user.sobject('Lead').create({ LastName: 'Purged', Company: 'Acme' })) as { id: string };
    await waitUntil(() => s.eventFor(id) !== undefined, 10_000, 'the created Lead');
    // Deleted and purged in one step, so no poll reads the deleted row in between.
    const org = em.emulator.org(s.org.orgId)!;
    inTransaction(org, 'test', (txn) => deleteRecord(org, txn, org.object('Lead'), toId18(id)!));
    org.store.purgeLog(em.emulator.clock.now());
    // getDeleted covers whole minutes: the next window ends past the purge.
    await adminCall(em.url, 'POST', '/__emulator/clock', { advanceMs: 120_000 });
    const deleted = () => s.events().some((m) => eventType(m) === 'salesforce.record.deleted' && data(m)['recordId'] === toId18(id));
    await waitUntil(deleted, 10_000, 'the deletion found by the sweep');
    expect(s.sup.warnings().map((w) => w.code)).toContain('delete_log_purged');
  });

  it('a revoked grant puts the supervisor in needs_reauth once, without retrying the refresh', async () => {
    const s = await supervise({ cdcEntities: [] });
    await s.sup.follow(['Lead']);
    await waitUntil(() => s.checkpoints(checkpointKey.poll(s.connectionId, 'Lead')).length > 0, 10_000, 'the first poll');

    await adminCall(em.url, 'POST', `/__emulator/orgs/${s.org.orgId}/faults`, { kind: 'revoke-refresh-tokens' });
    await waitUntil(() => s.sup.state() === 'needs_reauth', 10_000, 'needs_reauth');
    expect(s.reauth).toHaveLength(1);
    const refreshes = s.tokens.refreshes;
    // Several poll intervals later nothing has asked for a token again.
    await sleep(1_000);
    expect(s.tokens.refreshes).toBe(refreshes);
    expect(s.reauth).toHaveLength(1);
    expect(s.sup.state()).toBe('needs_reauth');
  });
});
