/**
 * An admin takes an entity out of the CDC selection and puts it back, again and again, while its records
 * change. Its channel just goes quiet (Salesforce says nothing on a live subscription), so the service must
 * notice from the selection itself, poll the object from where the stream stopped, and stream it again from
 * where polling stopped: every change reaches Kafka. Run with a poller already running for another object,
 * without one (the poller is then created and emptied at each move), and with the service stopped while the
 * object is polled and started again once it is selected (a new instance knows only the checkpoints).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { connect, NOWHERE, subscribe, viewConnection } from '../../testkit/connections.js';
import { waitFor } from '../../testkit/wait.js';
import { adminCall, createOrg, orgUser, readEvents, startTestEmulator, startTestService, waitUntil, type ReceivedEvent } from '../../testkit/service.js';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

interface Truth {
  object: string;
  title: string;
  updated: boolean;
  deleted: boolean;
}

/** What a consumer must have seen of each record the writer touched: its creation, its last values, its deletion. */
function missing(truth: Map<string, Truth>, events: ReceivedEvent[]): string[] {
  const bySubject = new Map<string, ReceivedEvent[]>();
  for (const e of events) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e]);
  const out: string[] = [];
  for (const [id, t] of truth) {
    const seen = bySubject.get(id) ?? [];
    if (!seen.some((e) => e.type === 'salesforce.record.created')) out.push(`${t.object} ${id} created`);
    if (t.deleted) {
      if (!seen.some((e) => e.type === 'salesforce.record.deleted')) out.push(`${t.object} ${id} deleted`);
    } else if (t.updated && !seen.some((e) => e.type !== 'salesforce.record.deleted' && e.data.record['Title'] === t.title)) {
      out.push(`${t.object} ${id} updated to ${t.title}`);
    }
  }
  return out;
}

describe('objects moving between CDC and polling', () => {
  it.each([
    ['a poller already runs for another object', true, false],
    ['no poller runs until the first move', false, false],
    ['the service restarts while the object is polled', false, true],
  ])(
    'every change is found while the selection changes (%s)',
    async (_name, withPolled, restart) => {
      const prefix = uniquePrefix('selection');
      const org = await createOrg(emulator.url, { cdcEntities: ['Lead', 'Contact'] });
      // The selection check at half a second; the full refresh stays at its 10 minutes, so only the check notices.
      const start = () => startTestService({ prefix, selectionCheckMs: 500 });
      let svc = await start();
      const reader = await readEvents(prefix);
      const writing = { on: true };
      try {
        const c = await connect(svc.api, org);
        const objects = ['Lead', 'Contact', ...(withPolled ? ['Account'] : [])];
        await subscribe(svc.api, c, { triggers: ['record.created', 'record.updated', 'record.deleted'], objects, url: NOWHERE });
        const modeOf = async (object: string) => (await viewConnection(svc.api, c)).objects.find((o) => o.object === object)?.mode;
        const streamingLive = async () => {
          const v = await viewConnection(svc.api, c);
          return v.subscriber === 'running' && v.objects.find((o) => o.object === 'Lead')?.mode === 'cdc';
        };
        await waitUntil(streamingLive, 30_000, 'Lead streamed');

        // Steady activity on both entities: creates, updates of a field, deletes.
        const user = orgUser(org);
        const truth = new Map<string, Truth>();
        let n = 0;
        const writer = (async () => {
          while (writing.on) {
            n++;
            const object = n % 2 === 0 ? 'Lead' : 'Contact';
            const alive = [...truth].filter(([, t]) => t.object === object && !t.deleted);
            if (alive.length > 0 && n % 7 === 0) {
              const [id, t] = alive[n % alive.length]!;
              await user.sobject(object).destroy(id);
              t.deleted = true;
            } else if (alive.length > 0 && n % 3 === 0) {
              const [id, t] = alive[(n * 5) % alive.length]!;
              const title = `T${n}`;
              await user.sobject(object).update({ Id: id, Title: title });
              t.title = title;
              t.updated = true;
            } else {
              const title = `T${n}`;
              const r = (await user.sobject(object).create({ LastName: `W${n}`, Title: title, ...(object === 'Lead' ? { Company: 'Acme' } : {}) })) as {
                id: string;
              };
              truth.set(r.id, { object, title, updated: false, deleted: false });
            }
            await new Promise((r) => setTimeout(r, 60));
          }
        })();

        const setSelection = (entities: string[]) => adminCall(emulator.url, 'PUT', `/__emulator/orgs/${org.orgId}/cdc-entities`, { entities });
        for (let round = 0; round < 2; round++) {
          await setSelection(['Contact']);
          await waitUntil(async () => (await modeOf('Lead')) === 'polling', 15_000, `Lead polled (round ${round})`);
          const polledAt = n;
          await waitUntil(() => n >= polledAt + 30, 15_000, 'changes while Lead is polled');
          if (restart) {
            // Stopped while Lead is polled; selected again while nobody follows the org.
            await svc.stop();
            const stoppedAt = n;
            await waitUntil(() => n >= stoppedAt + 20, 15_000, 'changes while the service is down');
            await setSelection(['Lead', 'Contact']);
            const selectedAt = n;
            await waitUntil(() => n >= selectedAt + 10, 15_000, 'changes before the service is back');
            svc = await start();
          }
          await setSelection(['Lead', 'Contact']);
          await waitUntil(streamingLive, 30_000, `Lead streamed again (round ${round})`);
          const streamedAt = n;
          await waitUntil(() => n >= streamedAt + 30, 15_000, 'changes while Lead is streamed');
        }
        writing.on = false;
        await writer;

        await waitFor(() => missing(truth, reader.events).length === 0, 60_000);
        expect(missing(truth, reader.events)).toEqual([]);
        expect(truth.size).toBeGreaterThan(50);
        // An id names one change: never two records or two kinds of change.
        const named = new Map<string, string>();
        for (const e of reader.events) {
          const what = `${e.type} ${e.subject}`;
          expect(named.get(e.id) ?? what).toBe(what);
          named.set(e.id, what);
        }
        const leadModes = reader.events.filter((e) => e.data.object === 'Lead').map((e) => e.data.detectedBy);
        expect(new Set(leadModes)).toContain('polling');
        expect(new Set(leadModes)).toContain('cdc');
      } finally {
        writing.on = false;
        await reader.stop();
        await svc.stop();
      }
    },
    240_000,
  );
});
