/**
 * The connecting user's permissions, end to end. Without "View Setup and Configuration" the
 * CDC selection cannot be read; without "View All Data" Salesforce streams no change events
 * to the user. Either way the service says so in the connection's warnings, follows the
 * objects by polling without switching modes at every refresh, and streams again once the
 * permission is back, with every change the org committed on Kafka.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import {
  adminCall,
  createOrg,
  expectedLeadEvents,
  orgUser,
  readEvents,
  startTestEmulator,
  startTestService,
  waitUntil,
  type OrgCredentials,
  type TestService,
} from '../../testkit/service.js';
import { follow as followOrg, viewConnection, type ConnectionView as View } from '../../testkit/connections.js';

/** The CDC selection and the permissions are read every second here (production: every 10 minutes). */
const REFRESH_MS = 1_000;

let emulator: RunningEmulator;
let svc: TestService;
let reader: Awaited<ReturnType<typeof readEvents>>;
/** The service's "object mode" log lines: one per switch of an object between cdc and polling. */
const modeLines: { connectionId: string; object: string; from: string | null; to: string }[] = [];

beforeAll(async () => {
  emulator = await startTestEmulator();
  const prefix = uniquePrefix('permissions');
  const logger = createLogger({
    level: 'info',
    destination: {
      write(line: string) {
        const rec = JSON.parse(line) as { msg?: string; connectionId: string; object: string; from: string | null; to: string };
        if (rec.msg === 'object mode') modeLines.push(rec);
      },
    },
  });
  svc = await startTestService({ prefix, logger, modeRefreshMs: REFRESH_MS });
  reader = await readEvents(prefix);
});
afterAll(async () => {
  await reader?.stop();
  await svc?.stop();
  await emulator?.close();
});

const view = (id: string): Promise<View> => viewConnection(svc.api, id);
const follow = (org: OrgCredentials): Promise<string> => followOrg(svc.api, org, { triggers: ['record.created', 'record.updated'] });

const setPermissions = (org: OrgCredentials, body: Record<string, boolean>) =>
  adminCall(emulator.url, 'PUT', `/__emulator/orgs/${org.orgId}/permissions`, body);

const switches = (id: string) => modeLines.filter((l) => l.connectionId === id && l.from !== null).map((l) => `${l.from}->${l.to}`);

const seen = (id: string, detectedBy?: string) => (evs: { subject: string; data: { detectedBy: string } }[]) =>
  evs.some((e) => e.subject === id && (detectedBy === undefined || e.data.detectedBy === detectedBy));

async function streaming(id: string): Promise<void> {
  await waitUntil(
    async () => {
      const v = await view(id);
      return v.warnings.length === 0 && v.objects[0]?.mode === 'cdc' && v.subscriber === 'running';
    },
    20_000,
    'streaming',
  );
}

/** Several refreshes pass while the permission stays missing: no object changes mode. */
async function expectSteadyPolling(id: string): Promise<void> {
  const before = switches(id).length;
  await new Promise((r) => setTimeout(r, 5 * REFRESH_MS));
  expect(switches(id).length).toBe(before);
  expect((await view(id)).objects).toEqual([expect.objectContaining({ object: 'Lead', mode: 'polling' })]);
}

/**
 * Every change of the org's log reached Kafka as an event of its type for its record: where the
 * service cannot prove a polled row is a given change event (an object never streamed before), the
 * ids differ, and the change may come twice, never zero times.
 */
async function everyChangeSeen(org: OrgCredentials, count: number): Promise<void> {
  const expected = [...expectedLeadEvents(emulator, org).values()];
  expect(expected.length).toBe(count);
  await reader.waitFor(
    (evs) => {
      const got = new Set(evs.map((e) => `${e.type} ${e.subject}`));
      return expected.every((k) => got.has(k));
    },
    30_000,
    'every change of the org',
  );
}

/** Every change of the org's log reached Kafka under the id of its change event (streamed or replayed). */
async function everyChangeOnKafka(org: OrgCredentials, count: number): Promise<void> {
  const expected = expectedLeadEvents(emulator, org);
  expect(expected.size).toBe(count);
  await reader.waitFor(
    (evs) => {
      const got = new Set(evs.map((e) => e.id));
      return [...expected.keys()].every((k) => got.has(k));
    },
    30_000,
    'every change of the org under its id',
  );
}

describe("the connecting user's permissions", () => {
  it('without View Setup and Configuration: a warning naming it, polling, steady; streaming once it is granted', async () => {
    const org = await createOrg(emulator.url, { permissions: { viewSetup: false } });
    const id = await follow(org);
    await waitUntil(async () => (await view(id)).warnings.some((w) => w.code === 'missing_permission_view_setup'), 20_000, 'the View Setup warning');
    const v = await view(id);
    expect(v.warnings).toEqual([
      expect.objectContaining({ code: 'missing_permission_view_setup', message: expect.stringContaining('View Setup and Configuration') }),
    ]);
    expect(v.objects).toEqual([expect.objectContaining({ object: 'Lead', mode: 'polling' })]);

    const user = orgUser(org);
    const during = await user.sobject('Lead').create({ LastName: 'During', Company: 'A' });
    await reader.waitFor(seen(during.id!, 'polling'), 20_000, 'polled without View Setup');
    await expectSteadyPolling(id);
    expect(switches(id)).toEqual([]);

    await setPermissions(org, { viewSetup: true });
    await streaming(id);
    const after = await user.sobject('Lead').create({ LastName: 'After', Company: 'B' });
    await reader.waitFor(seen(after.id!, 'cdc'), 20_000, 'streamed once granted');
    expect(switches(id)).toEqual(['polling->cdc']);
    await everyChangeSeen(org, 2);
  }, 90_000);

  it('View All Data taken away while streaming: a warning naming it, polling, steady; back: streamed again from the checkpoint, nothing lost', async () => {
    const org = await createOrg(emulator.url);
    const id = await follow(org);
    await streaming(id);
    const user = orgUser(org);
    const before = await user.sobject('Lead').create({ LastName: 'Before', Company: 'A' });
    await reader.waitFor(seen(before.id!, 'cdc'), 20_000, 'streamed before');

    // Salesforce withholds the change events from now on; the service learns it at its next read.
    await setPermissions(org, { viewAllData: false });
    const unseen = await user.sobject('Lead').create({ LastName: 'Withheld', Company: 'W' });
    await waitUntil(async () => (await view(id)).warnings.some((w) => w.code === 'missing_permission_view_all_data'), 20_000, 'the View All Data warning');
    expect((await view(id)).warnings).toEqual([
      expect.objectContaining({ code: 'missing_permission_view_all_data', message: expect.stringContaining('View All Data') }),
    ]);
    await reader.waitFor(seen(unseen.id!), 20_000, 'a change made before the service noticed');

    const during = await user.sobject('Lead').create({ LastName: 'During', Company: 'B' });
    await user.sobject('Lead').update({ Id: before.id!, Company: 'A2' });
    await reader.waitFor(seen(during.id!, 'polling'), 20_000, 'polled without View All Data');
    await expectSteadyPolling(id);
    expect(switches(id)).toEqual(['cdc->polling']);

    await setPermissions(org, { viewAllData: true });
    await streaming(id);
    const after = await user.sobject('Lead').create({ LastName: 'After', Company: 'C' });
    await reader.waitFor(seen(after.id!, 'cdc'), 20_000, 'streamed once granted again');
    expect(switches(id)).toEqual(['cdc->polling', 'polling->cdc']);
    await everyChangeOnKafka(org, 5);
  }, 120_000);

  it('an org whose user never had View All Data is polled from the start', async () => {
    const org = await createOrg(emulator.url, { permissions: { viewAllData: false } });
    const id = await follow(org);
    await waitUntil(async () => (await view(id)).warnings.some((w) => w.code === 'missing_permission_view_all_data'), 20_000, 'the View All Data warning');
    const during = await orgUser(org).sobject('Lead').create({ LastName: 'During', Company: 'B' });
    await reader.waitFor(seen(during.id!, 'polling'), 20_000, 'polled');
    await expectSteadyPolling(id);
    expect(switches(id)).toEqual([]);
  }, 60_000);
});
