/**
 * An overflow read back beside the stream, against the in-process emulator and an in-memory Kafka: a
 * cascade delete past the org's overflow threshold is read back page by page, and an instance stopped in
 * the middle of it leaves a checkpoint that the next one resumes from, missing no record and reading no
 * page twice.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import type { Producer } from '../kafka/types.js';
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

const EVENTS = 't.events';
const CHECKPOINTS = 't.checkpoints';
const silent = createLogger({ name: 'test', level: 'silent' });
/** What the supervisors said, by message: the test waits on the catch-ups being done. */
const said: string[] = [];
const logger = createLogger({
  name: 'test',
  level: 'info',
  destination: {
    write(line: string) {
      said.push((JSON.parse(line) as { msg: string }).msg);
    },
  },
});

let em: RunningEmulator;
beforeAll(async () => {
  em = await startEmulator({ port: 0, logger: silent });
});
afterAll(async () => {
  await em?.close();
});
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tokensOf(org: OrgCredentials): TokenSource {
  let current: SessionToken | undefined;
  return {
    current: () => current,
    refresh: async (): Promise<SessionToken> => {
      const t = await refreshAccessToken({ loginUrl: org.loginUrl, clientId: org.clientId, clientSecret: org.clientSecret }, org.refreshToken, emulatorEgress);
      current = { accessToken: t.access_token, instanceUrl: t.instance_url };
      return current;
    },
  };
}

function connectionOf(org: OrgCredentials, id: string): ConnectionRecord {
  const now = new Date().toISOString();
  return {
    id,
    orgId: org.orgId,
    loginUrl: org.loginUrl,
    instanceUrl: org.instanceUrl,
    clientId: org.clientId,
    clientSecret: 's',
    refreshToken: 's',
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
}

interface Published {
  recordId: string;
  type: string;
  detectedBy: string;
}

describe('an overflow read back', () => {
  it('is checkpointed page by page; a stop in the middle resumes from the checkpoint, every record found, no page read twice', async () => {
    const org = await createOrg(em.url, { cdcEntities: [], overflowThreshold: 50 });
    const user = orgUser(org);
    const account = (await user.sobject('Account').create({ Name: 'Parent' })) as { id: string };
    const contactIds: string[] = [];
    for (let i = 0; i < 25; i++) {
      const rows = Array.from({ length: 200 }, (_, j) => ({ LastName: `C${i * 200 + j}`, AccountId: account.id }));
      const res = (await user.sobject('Contact').create(rows, { allOrNone: true })) as { id: string }[];
      contactIds.push(...res.map((r) => r.id));
    }
    // The contacts were created long before anyone follows the org: only their deletion is news.
    await adminCall(em.url, 'POST', '/__emulator/clock', { advanceMs: 600_000 });
    await adminCall(em.url, 'PUT', `/__emulator/orgs/${org.orgId}/cdc-entities`, { entities: ['Account', 'Contact'] });

    const kafka = new MemoryKafka();
    const store = new ServiceStore({ client: kafka, stateTopic: 't.state', checkpointTopic: CHECKPOINTS, logger: silent });
    await store.start();
    kafka.createTopic(EVENTS);
    cleanup.push(async () => {
      await store.stop();
      await kafka.close();
    });
    const instant = kafka.producer();
    // Kafka that takes its time: the read is still under way when the instance stops.
    const producer: Producer = { ...instant, send: async (topic, messages) => (await sleep(150), instant.send(topic, messages)) };
    const publisher = createPublisher({ topic: EVENTS }, { producer });
    const connectionId = `conn-${org.orgId}`;
    const start = async () => {
      const sup = new OrgSupervisor({
        connection: connectionOf(org, connectionId),
        tokens: tokensOf(org),
        store,
        publisher,
        logger,
        pollIntervalMs: 60_000,
        budgetShare: 1,
        egress: emulatorEgress,
        onReauthRequired: () => undefined,
        now: () => em.emulator.clock.now(),
      });
      cleanup.push(() => sup.stop());
      await sup.follow(['Account', 'Contact']);
      await waitUntil(() => sup.view() === 'running', 10_000, 'streaming');
      return sup;
    };
    const published = (): Published[] =>
      kafka.messages(EVENTS).map((m) => {
        const d = JSON.parse(m.value!.toString()) as Published;
        return { recordId: d.recordId, type: String(m.headers['ce_type']), detectedBy: d.detectedBy };
      });
    const key = checkpointKey.reconcile(connectionId, 'Contact');
    const latest = () =>
      kafka
        .messages(CHECKPOINTS)
        .filter((m) => m.key === key)
        .at(-1);

    const first = await start();
    // The first follow reads the last minute back once (both channels): done before the delete, so that
    // what is read back below is the overflow's alone.
    await waitUntil(() => said.filter((m) => m === 'gap reconciled').length === 2, 20_000, 'the catch-ups');
    await user.sobject('Account').destroy(account.id);
    // The first page is published and its position checkpointed: stop there, as a crash between pages would.
    await waitUntil(
      () => latest()?.value != null && (JSON.parse(latest()!.value!.toString()) as { afterId?: string }).afterId !== undefined,
      20_000,
      'a page checkpointed',
    );
    await first.stop();
    const checkpoint = JSON.parse(latest()!.value!.toString()) as { phase: string; since: number; afterId: string };
    expect(checkpoint.phase).toBe('rows');
    const cut = published().length;
    const before = published().filter((e) => e.detectedBy === 'reconcile');
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(contactIds.length);

    const second = await start();
    // Done: the checkpoint is removed (a tombstone).
    await waitUntil(() => latest()?.value === null, 30_000, 'the read back to finish');
    const after = published().slice(cut);
    expect(second.view()).toBe('running');

    const deleted = new Set(
      published()
        .filter((e) => e.type === 'salesforce.record.deleted')
        .map((e) => e.recordId.slice(0, 15)),
    );
    const missing = contactIds.filter((id) => !deleted.has(id.slice(0, 15)));
    expect(missing).toEqual([]);
    // The second run started where the first stopped: nothing it read back was read back before.
    const again = new Set(before.map((e) => e.recordId));
    expect(after.filter((e) => e.detectedBy === 'reconcile' && again.has(e.recordId))).toEqual([]);
  });
});
