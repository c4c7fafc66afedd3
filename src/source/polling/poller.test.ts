import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDetector } from '../../detect/index.js';
import { startEmulator, type RunningEmulator } from '../../emulator/server.js';
import { commit as commitTxn, createRecord } from '../../emulator/dml.js';
import { Transaction } from '../../emulator/transaction.js';
import { createRecordMemory } from './memory.js';
import { createPoller, type PollCursor, type PollerOptions } from './poller.js';
import { floorToMinute } from '../../salesforce/soql.js';
import { admin, apiCalls, newOrg, sessionFor, silent, Sink, writer, type OrgCreds } from '../../../testkit/source/polling.js';

let em: RunningEmulator;
beforeAll(async () => {
  em = await startEmulator({ port: 0, logger: silent });
});
afterAll(async () => {
  await em?.close();
});

const now = () => em.emulator.clock.now();

/** A durable cursor a little in the past: everything the test does afterwards is "new". */
function pastCursors(objects: string[], agoMs = 5_000): Map<string, PollCursor> {
  const t = now() - agoMs;
  return new Map(objects.map((o) => [o, { systemModstamp: t, lastId: '', deletedUntil: floorToMinute(t) }]));
}

function poller(creds: OrgCreds, objects: string[], sink: Sink, over: Partial<PollerOptions> = {}) {
  return createPoller({
    session: sessionFor(creds),
    objects,
    cursors: pastCursors(objects),
    handle: sink.handle,
    commit: sink.commit,
    minIntervalMs: 30_000,
    logger: silent,
    now,
    memory: createRecordMemory(),
    ...over,
  });
}

describe('polling against the emulator', () => {
  it.each([
    ['Lead', { LastName: 'Smith', Company: 'Acme' }, { Company: 'Beta' }, 'Company'],
    ['Invoice__c', { Name: 'INV-1', Amount__c: 10 }, { Amount__c: 25 }, 'Amount__c'],
  ])('%s: create, update (changedFields), delete, undelete', async (object, create, update, field) => {
    const creds = await newOrg(em.url);
    const sink = new Sink();
    const p = poller(creds, [object], sink);
    const w = await writer(creds);

    const { id } = (await w.sobject(object).create(create)) as { id: string };
    expect((await p.pollOnce()).error).toBeUndefined();
    expect(sink.take().map((c) => [c.object, c.recordId.slice(0, 15), c.changeType, c.detectedBy])).toEqual([[object, id.slice(0, 15), 'CREATE', 'polling']]);

    await w.sobject(object).update({ Id: id, ...update });
    await p.pollOnce();
    const [upd] = sink.take();
    expect(upd?.changeType).toBe('UPDATE');
    expect(upd?.changedFields).toContain(field);
    expect(upd?.changedFields).not.toContain('Name');

    await w.sobject(object).destroy(id);
    await p.pollOnce();
    expect(sink.take().map((c) => c.changeType)).toEqual(['DELETE']);

    await admin(em.url, 'POST', `/__emulator/orgs/${creds.orgId}/undelete`, { ids: [id] });
    await p.pollOnce();
    expect(sink.take().map((c) => c.changeType)).toEqual(['UNDELETE']);

    // Nothing new: the overlap re-read publishes nothing twice.
    await p.pollOnce();
    expect(sink.take()).toEqual([]);
  });

  it('a new subscription starts at "now": existing records are not announced', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    await w.sobject('Lead').create({ LastName: 'Before', Company: 'Old' });
    // Stamps are whole seconds: a row of the subscription's own second counts as new (see the next test).
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { cursors: new Map() });
    await p.pollOnce();
    expect(sink.take()).toEqual([]);
    expect(sink.committed.at(-1)?.get('Lead')).toBeDefined();
    await w.sobject('Lead').create({ LastName: 'After', Company: 'New' });
    await p.pollOnce();
    expect(sink.take().map((c) => c.record['LastName'])).toEqual(['After']);
  });

  /** Moves the emulator clock to just after the start of a coming second, so the next writes share it. */
  async function startOfSecond(): Promise<number> {
    const at = Math.floor(now() / 1000) * 1000 + 2_000;
    await admin(em.url, 'POST', '/__emulator/clock', { now: at + 20 });
    return at;
  }

  it("a row written in the subscription's own second is announced (stamps are whole seconds)", async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const second = await startOfSecond();
    const p = poller(creds, ['Lead'], sink, { cursors: new Map() });
    await p.pollOnce();
    await w.sobject('Lead').create({ LastName: 'Right after', Company: 'New' });
    expect(now() - second).toBeLessThan(1_000);
    await p.pollOnce();
    expect(sink.take().map((c) => c.record['LastName'])).toEqual(['Right after']);
  });

  it('a second version of a row within the same second is found, and each version once', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { cursors: pastCursors(['Lead'], 30_000) });
    const second = await startOfSecond();
    const lead = (await w.sobject('Lead').create({ LastName: 'Twice', Company: 'A' })) as { id: string };
    await p.pollOnce();
    await w.sobject('Lead').update({ Id: lead.id, Company: 'B' });
    expect(now() - second).toBeLessThan(1_000);
    await p.pollOnce();
    await p.pollOnce();
    const got = sink.take();
    expect(got.map((c) => [c.changeType, c.record['Company'], c.commitTimestamp])).toEqual([
      ['CREATE', 'A', second],
      ['UPDATE', 'B', second],
    ]);
    expect(got[1]!.changedFields).toContain('Company');
    const d = createDetector({ orgId: creds.orgId, connectionId: 'c' });
    expect(new Set(got.flatMap((c) => d.detect(c)).map((e) => e.id)).size).toBe(2);
  });

  it('many rows with one SystemModstamp are paged across the LIMIT boundary without loss or duplicates', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { pageSize: 50 });
    await p.pollOnce();
    const rows = Array.from({ length: 120 }, (_, i) => ({ LastName: `L${i}`, Company: 'Bulk' }));
    const res = (await w.sobject('Lead').create(rows, { allOrNone: true })) as Array<{ id: string }>;
    const stamps = new Set(
      (await w.query<{ SystemModstamp: string }>("SELECT SystemModstamp FROM Lead WHERE Company = 'Bulk'")).records.map((r) => r.SystemModstamp),
    );
    expect(stamps.size).toBe(1);

    const r = await p.pollOnce();
    const got = sink.take();
    expect(got).toHaveLength(120);
    expect(new Set(got.map((c) => c.recordId.slice(0, 15)))).toEqual(new Set(res.map((x) => x.id.slice(0, 15))));
    expect(got.every((c) => c.changeType === 'CREATE')).toBe(true);
    // 50 + 50 + 20: the first page and two keyset continuations, one call each.
    expect(r.calls).toBe(3);
    await p.pollOnce();
    expect(sink.take()).toEqual([]);
  });

  it('a late commit inside the overlap window is caught once', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { cursors: pastCursors(['Lead'], 30_000) });
    await w.sobject('Lead').create({ LastName: 'OnTime', Company: 'A' });
    await p.pollOnce();
    expect(sink.take().map((c) => c.record['LastName'])).toEqual(['OnTime']);
    const cursor = p.state().cursors['Lead']!;

    // A transaction that started 10 s before the cursor commits only now.
    const org = em.emulator.org(creds.orgId)!;
    const txn = new Transaction(cursor.systemModstamp - 10_000, org.user.id, 'com/salesforce/api/rest/59.0;client=late');
    createRecord(org, txn, org.object('Lead')!, { LastName: 'Late', Company: 'B' });
    commitTxn(org, txn);

    await p.pollOnce();
    const late = sink.take();
    expect(late.map((c) => [c.record['LastName'], c.changeType, c.commitTimestamp])).toEqual([['Late', 'CREATE', cursor.systemModstamp - 10_000]]);
    await p.pollOnce();
    expect(sink.take()).toEqual([]);
  });

  it('5 watched objects and no changes cost exactly 1 API call per cycle', async () => {
    const creds = await newOrg(em.url);
    const objects = ['Lead', 'Contact', 'Opportunity', 'CampaignMember', 'Invoice__c'];
    const sink = new Sink();
    // A getDeleted window is due in the first cycle: it rides in the same composite.
    const p = poller(creds, objects, sink, { cursors: pastCursors(objects, 180_000) });
    const warm = await p.pollOnce(); // + one composite of describes, once per process
    expect(warm.calls).toBe(2);
    expect(Object.values(p.state().cursors).every((c) => c.deletedUntil > floorToMinute(now() - 180_000))).toBe(true);
    const perCycle: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = await apiCalls(em.url, creds.orgId);
      const r = await p.pollOnce();
      perCycle.push((await apiCalls(em.url, creds.orgId)) - before);
      expect(r).toEqual({ calls: 1, changes: 0 });
    }
    expect(perCycle).toEqual([1, 1, 1]);
    // At the default interval (30 s) with a 100,000 limit the budget does not slow it down: 120 calls/h.
    expect(p.nextDelayMs()).toBe(30_000);
  });

  it('budget: a small daily limit stretches the interval to share × limit calls per day', async () => {
    const creds = await newOrg(em.url, { apiDailyLimit: 1000 });
    const p = poller(creds, ['Lead', 'Contact'], new Sink());
    await p.pollOnce();
    // 1 call per cycle, 10% of 1,000 = 100 cycles/day → one every 864 s.
    expect(p.nextDelayMs()).toBe(864_000);
    const half = poller(creds, ['Lead'], new Sink(), { budgetShare: 0.2 });
    await half.pollOnce();
    expect(half.nextDelayMs()).toBe(432_000);
  });

  it('REQUEST_LIMIT_EXCEEDED backs off exponentially and recovers nothing lost', async () => {
    const creds = await newOrg(em.url, { apiDailyLimit: 6 });
    const w = await writer(creds); // token call is not an API call
    await w.sobject('Lead').create({ LastName: 'X', Company: 'Y' }); // 1
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { maxIntervalMs: 3_600_000 });
    await p.pollOnce(); // describe + poll: 3
    expect(sink.take()).toHaveLength(1);
    await w.sobject('Lead').create({ LastName: 'Z', Company: 'Y' }); // 4
    await p.pollOnce(); // 5
    await p.pollOnce(); // 6 (limit reached afterwards)
    const r1 = await p.pollOnce();
    expect(r1.error?.message).toMatch(/REQUEST_LIMIT_EXCEEDED/);
    expect(p.state().consecutiveLimitErrors).toBe(1);
    const d1 = p.nextDelayMs();
    await p.pollOnce();
    const d2 = p.nextDelayMs();
    expect(d1).toBeGreaterThanOrEqual(60_000);
    expect(d2).toBeGreaterThanOrEqual(2 * 60_000);
    expect(sink.take().map((c) => c.record['LastName'])).toEqual(['Z']);
  });

  it('a fail-requests burst and a failing handle lose nothing and duplicate nothing', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const p = poller(creds, ['Lead', 'Invoice__c'], sink);
    await p.pollOnce();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await w.sobject('Lead').create({ LastName: `F${i}`, Company: 'F' })) as { id: string }).id);
    ids.push(((await w.sobject('Invoice__c').create({ Name: 'I', Amount__c: 1 })) as { id: string }).id);

    await admin(em.url, 'POST', `/__emulator/orgs/${creds.orgId}/faults`, { kind: 'fail-requests', status: 503, count: 3 });
    const before = p.state().cursors;
    for (let i = 0; i < 3; i++) expect((await p.pollOnce()).error).toBeDefined();
    expect(p.state().cursors).toEqual(before);
    expect(p.state().consecutiveFailures).toBe(3);
    expect(p.nextDelayMs()).toBe(120_000);

    sink.failHandle = 1;
    expect((await p.pollOnce()).error?.message).toMatch(/kafka down/);
    expect(p.state().cursors).toEqual(before);

    expect((await p.pollOnce()).error).toBeUndefined();
    await p.pollOnce();
    const got = sink.take().map((c) => c.recordId.slice(0, 15));
    expect(got.sort()).toEqual(ids.map((i) => i.slice(0, 15)).sort());
    expect(p.state().consecutiveFailures).toBe(0);
  });

  it('slow-requests: a request that does not answer times out and the next cycle catches up', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { requestTimeoutMs: 300 });
    await p.pollOnce();
    await w.sobject('Lead').create({ LastName: 'Slow', Company: 'S' });
    await admin(em.url, 'POST', `/__emulator/orgs/${creds.orgId}/faults`, { kind: 'slow-requests', ms: 1_000, count: 1 });
    expect((await p.pollOnce()).error?.message).toMatch(/no answer within 300 ms/);
    expect((await p.pollOnce()).error).toBeUndefined();
    expect(sink.take().map((c) => c.record['LastName'])).toEqual(['Slow']);
  });

  it('hard deletes (CampaignMember) come from getDeleted; campaign_opportunity.added from the last known CampaignId', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const objects = ['CampaignMember', 'Opportunity'];
    const p = poller(creds, objects, sink, { cursors: pastCursors(objects, 120_000) });
    const camp = (await w.sobject('Campaign').create({ Name: 'Spring' })) as { id: string };
    const lead = (await w.sobject('Lead').create({ LastName: 'M', Company: 'C' })) as { id: string };
    const opp = (await w.sobject('Opportunity').create({ Name: 'Deal', StageName: 'Prospecting', CloseDate: '2030-01-01' })) as { id: string };
    const member = (await w.sobject('CampaignMember').create({ CampaignId: camp.id, LeadId: lead.id })) as { id: string };
    await p.pollOnce();
    expect(
      sink
        .take()
        .map((c) => [c.object, c.changeType])
        .sort(),
    ).toEqual([
      ['CampaignMember', 'CREATE'],
      ['Opportunity', 'CREATE'],
    ]);

    await w.sobject('Opportunity').update({ Id: opp.id, CampaignId: camp.id });
    await w.sobject('CampaignMember').destroy(member.id);
    // getDeleted has minute granularity: let the org's clock pass the minute of the delete.
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 120_000 });
    await p.pollOnce();
    const changes = sink.batches.flat();
    const ctx = sink.contexts.at(-1)!;
    sink.take();
    expect(changes.map((c) => [c.object, c.changeType]).sort()).toEqual([
      ['CampaignMember', 'DELETE'],
      ['Opportunity', 'UPDATE'],
    ]);
    const detector = createDetector({ orgId: creds.orgId, connectionId: 'conn-test' });
    const events = detector.detectBatch(changes, { previousCampaignId: ctx.previousCampaignId });
    expect(events.map((e) => e.type).sort()).toEqual(['salesforce.campaign_opportunity.added', 'salesforce.record.deleted', 'salesforce.record.updated']);
  });

  it('a purged delete log (purge-delete-log): known records deleted before it are found by a sweep, with stable ids', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const objects = ['Lead', 'CampaignMember'];
    const run = async () => {
      const sink = new Sink();
      const purges: [string, number, number][] = [];
      const p = poller(creds, objects, sink, {
        cursors: pastCursors(objects, 120_000),
        onDeleteLogPurged: (object, earliest, found) => purges.push([object, earliest, found]),
      });
      return { sink, purges, p };
    };
    // Two readers that know the same records, as two instances would.
    const a = await run();
    const b = await run();
    const camp = (await w.sobject('Campaign').create({ Name: 'Autumn' })) as { id: string };
    const kept = (await w.sobject('Lead').create({ LastName: 'Kept', Company: 'C' })) as { id: string };
    const gone = (await w.sobject('Lead').create({ LastName: 'Gone', Company: 'C' })) as { id: string };
    const member = (await w.sobject('CampaignMember').create({ CampaignId: camp.id, LeadId: kept.id })) as { id: string };
    await a.p.pollOnce();
    await b.p.pollOnce();
    expect(a.sink.take().map((c) => c.changeType)).toEqual(['CREATE', 'CREATE', 'CREATE']);
    b.sink.take();

    // Deleted, and the Recycle Bin emptied before the next poll: neither queryAll nor getDeleted shows them.
    await w.sobject('Lead').destroy(gone.id);
    await w.sobject('CampaignMember').destroy(member.id);
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });
    await admin(em.url, 'POST', `/__emulator/orgs/${creds.orgId}/faults`, { kind: 'purge-delete-log' });
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 120_000 });
    expect((await a.p.pollOnce()).error).toBeUndefined();
    expect((await b.p.pollOnce()).error).toBeUndefined();
    const found = a.sink.take();
    expect(found.map((c) => [c.object, c.recordId.slice(0, 15), c.changeType]).sort()).toEqual(
      [
        ['CampaignMember', member.id.slice(0, 15), 'DELETE'],
        ['Lead', gone.id.slice(0, 15), 'DELETE'],
      ].sort(),
    );
    expect(a.purges.map(([o, , n]) => [o, n]).sort()).toEqual([
      ['CampaignMember', 1],
      ['Lead', 1],
    ]);
    // The window moved past the purge: nothing is swept twice.
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 120_000 });
    await a.p.pollOnce();
    expect(a.sink.take()).toEqual([]);
    expect(a.purges).toHaveLength(2);

    // The other reader, sweeping after the same purge, names the same deletions alike.
    const detector = createDetector({ orgId: creds.orgId, connectionId: 'conn-test' });
    const idsOf = (changes: typeof found) =>
      detector
        .detectBatch(changes, { previousCampaignId: () => undefined })
        .map((e) => e.id)
        .sort();
    expect(idsOf(b.sink.take())).toEqual(idsOf(found));
  });

  it('start() polls on its own timer; stop() ends it', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const sink = new Sink();
    const p = poller(creds, ['Lead'], sink, { minIntervalMs: 50 });
    p.start();
    await w.sobject('Lead').create({ LastName: 'Timer', Company: 'T' });
    for (let i = 0; i < 100 && sink.changes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await p.stop();
    expect(p.state().state).toBe('stopped');
    expect(sink.changes.map((c) => c.record['LastName'])).toEqual(['Timer']);
    expect(await p.pollOnce()).toEqual({ calls: 0, changes: 0 });
  });

  it('an object Salesforce refuses to read is reported and not asked again every cycle; the others go on', async () => {
    const creds = await newOrg(em.url);
    const sink = new Sink();
    const refused: string[] = [];
    let clock = now();
    const p = poller(creds, ['Missing__c', 'Lead'], sink, { now: () => clock, onObjectError: (o) => refused.push(o) });
    const w = await writer(creds);
    await p.pollOnce();
    expect(refused).toEqual(['Missing__c']);
    await w.sobject('Lead').create({ LastName: 'Still', Company: 'Polled' });
    const before = await apiCalls(em.url, creds.orgId);
    await p.pollOnce();
    // One composite for Lead: the refused object is neither described nor queried again yet.
    expect((await apiCalls(em.url, creds.orgId)) - before).toBe(1);
    expect(refused).toEqual(['Missing__c']);
    expect(sink.take().map((c) => c.changeType)).toEqual(['CREATE']);
    // Past its retry time it is asked again.
    clock += 6 * 60_000;
    await p.pollOnce();
    expect(refused).toEqual(['Missing__c', 'Missing__c']);
  });
});
