import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../emulator/server.js';
import { fetchRecords, reconcile, reconcilePages, type ReconcilePage } from './reconcile.js';
import { admin, apiCalls, newOrg, sessionFor, silent, writer, type OrgCreds } from '../../../testkit/source/polling.js';

let em: RunningEmulator;
beforeAll(async () => {
  em = await startEmulator({ port: 0, logger: silent });
});
afterAll(async () => {
  await em?.close();
});

const now = () => em.emulator.clock.now();

describe('reconcile and GAP fetch against the emulator', () => {
  it('a window yields its creates, updates, soft and hard deletes with detectedBy reconcile', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const before = (await w.sobject('Lead').create({ LastName: 'Old', Company: 'O' })) as { id: string };
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 120_000 });
    const since = now();
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });

    const created = (await w.sobject('Lead').create({ LastName: 'New', Company: 'N' })) as { id: string };
    // Stamps are whole seconds: a second apart, so that the order below is the commit order.
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });
    await w.sobject('Lead').update({ Id: before.id, Company: 'Changed' });
    const gone = (await w.sobject('Lead').create({ LastName: 'Gone', Company: 'G' })) as { id: string };
    await w.sobject('Lead').destroy(gone.id);
    const camp = (await w.sobject('Campaign').create({ Name: 'C' })) as { id: string };
    const member = (await w.sobject('CampaignMember').create({ CampaignId: camp.id, LeadId: created.id })) as { id: string };
    await w.sobject('CampaignMember').destroy(member.id);
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 120_000 });

    const session = sessionFor(creds);
    const leads = await reconcile(session, 'Lead', { sinceMs: since }, { now, pageSize: 2 });
    const short = (id: string) => id.slice(0, 15);
    expect(leads.every((c) => c.detectedBy === 'reconcile')).toBe(true);
    // Created and deleted within the window: its creation was never reported either.
    expect(leads.map((c) => [short(c.recordId), c.changeType])).toEqual([
      [short(created.id), 'CREATE'],
      [short(before.id), 'UPDATE'],
      [short(gone.id), 'CREATE'],
      [short(gone.id), 'DELETE'],
    ]);
    expect(leads[2]!.record).toMatchObject({ LastName: 'Gone', IsDeleted: false });
    const old = leads.find((c) => short(c.recordId) === short(before.id))!;
    expect(old.record['Company']).toBe('Changed');
    expect(old.changedFields).toEqual([]);

    const members = await reconcile(session, 'CampaignMember', { sinceMs: since }, { now });
    expect(members.map((c) => [short(c.recordId), c.changeType, c.detectedBy])).toEqual([[short(member.id), 'DELETE', 'reconcile']]);

    // The window's upper bound is respected.
    expect(await reconcile(session, 'Lead', { sinceMs: since - 600_000, untilMs: since - 1 }, { now })).toEqual([]);
  });

  it('a record created and then changed within the window yields its CREATE (dated CreatedDate) and its UPDATE', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const since = now();
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });
    const lead = (await w.sobject('Lead').create({ LastName: 'Quick', Company: 'Q' })) as { id: string };
    const createdAt = now();
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 5_000 });
    await w.sobject('Lead').update({ Id: lead.id, Company: 'Qualified' });
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });

    const changes = await reconcile(sessionFor(creds), 'Lead', { sinceMs: since }, { now });
    expect(changes.map((c) => c.changeType)).toEqual(['CREATE', 'UPDATE']);
    // CreatedDate (the whole second the create started in), not SystemModstamp.
    expect(changes[0]!.commitTimestamp % 1000).toBe(0);
    expect(createdAt - changes[0]!.commitTimestamp).toBeGreaterThanOrEqual(0);
    expect(createdAt - changes[0]!.commitTimestamp).toBeLessThan(1_005);
    expect(changes[1]!.commitTimestamp).toBeGreaterThan(createdAt + 4_000);
    // Created in a second before the window: its creation was reported then; only the UPDATE now. (A window
    // starting within the creation's second cannot tell, whole-second stamps: it reports the creation again.)
    const later = await reconcile(sessionFor(creds), 'Lead', { sinceMs: Math.floor(createdAt / 1000) * 1000 + 1_000 }, { now });
    expect(later.map((c) => c.changeType)).toEqual(['UPDATE']);
  });

  it('fetchRecords reads many ids in few calls, deleted rows included', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const rows = Array.from({ length: 150 }, (_, i) => ({ LastName: `G${i}`, Company: 'Gap' }));
    const ids = [
      ...((await w.sobject('Lead').create(rows.slice(0, 100), { allOrNone: true })) as Array<{ id: string }>),
      ...((await w.sobject('Lead').create(rows.slice(100), { allOrNone: true })) as Array<{ id: string }>),
    ].map((r) => r.id);
    await w.sobject('Lead').destroy(ids[0]!);
    const session = sessionFor(creds);
    await fetchRecords(session, 'Lead', [ids[1]!]); // warm the describe cache
    const before = await apiCalls(em.url, creds.orgId);
    // 15-character ids as a GAP event may carry them.
    const got = await fetchRecords(
      session,
      'Lead',
      [...ids, ...ids].map((id) => id.slice(0, 15)),
    );
    expect((await apiCalls(em.url, creds.orgId)) - before).toBe(1);
    expect(got).toHaveLength(150);
    expect(got.find((r) => String(r['Id']).startsWith(ids[0]!.slice(0, 15)))?.['IsDeleted']).toBe(true);
    await expect(fetchRecords(session, 'Lead', ['001*'])).rejects.toThrow(/not record ids/);
  });

  it('reads every field of a wide object (800 fields, 120 formulas) for a GAP event naming 250 records', async () => {
    const pad = (i: number): string => String(i).padStart(4, '0');
    const plain = Array.from({ length: 680 }, (_, i) => ({ name: `Wide_Plain_Field_${pad(i)}__c`, type: 'text' }));
    const formulas = Array.from({ length: 120 }, (_, i) => ({ name: `Wide_Formula_${pad(i)}__c`, type: 'text', formula: `Wide_Plain_Field_${pad(i)}__c` }));
    const creds = await admin<OrgCreds>(em.url, 'POST', '/__emulator/orgs', {
      cdcEntities: [],
      customObjects: [{ name: 'Wide__c', fields: [...plain, ...formulas] }],
    });
    const w = await writer(creds);
    const ids: string[] = [];
    for (let batch = 0; batch < 2; batch++) {
      const rows = Array.from({ length: 125 }, (_, i) => ({ Wide_Plain_Field_0042__c: `r${batch * 125 + i}`, Wide_Plain_Field_0679__c: 'last' }));
      const res = (await w.sobject('Wide__c').create(rows)) as Array<{ id: string }>;
      ids.push(...res.map((r) => r.id));
    }
    const rows = await fetchRecords(sessionFor(creds), 'Wide__c', ids);
    expect(rows).toHaveLength(250);
    for (const row of rows) {
      for (const f of [...plain, ...formulas]) expect(row, f.name).toHaveProperty(f.name);
      expect(row['Wide_Formula_0042__c']).toBe(row['Wide_Plain_Field_0042__c']);
      expect(row['Wide_Plain_Field_0679__c']).toBe('last');
    }
    expect(new Set(rows.map((r) => r['Wide_Plain_Field_0042__c'])).size).toBe(250);
  });

  it('reads page by page, each page saying where to resume; a read resumed from a page reads only what follows it', async () => {
    const creds = await newOrg(em.url);
    const w = await writer(creds);
    const since = now();
    await admin(em.url, 'POST', '/__emulator/clock', { advanceMs: 1_000 });
    const ids = (
      (await w.sobject('Lead').create(
        Array.from({ length: 5 }, (_, i) => ({ LastName: `P${i}`, Company: 'Paged' })),
        { allOrNone: true },
      )) as Array<{ id: string }>
    ).map((r) => r.id.slice(0, 15));
    const session = sessionFor(creds);
    const pages: ReconcilePage[] = [];
    for await (const page of reconcilePages(session, 'Lead', { sinceMs: since }, { now, pageSize: 2 })) pages.push(page);
    expect(pages.map((p) => p.changes.length)).toEqual([2, 2, 1, 0]);
    expect(pages.at(-1)!.next).toBeUndefined();
    const after = pages[0]!.next!;
    expect(after).toMatchObject({ phase: 'rows', afterId: expect.any(String) });

    const resumed: string[] = [];
    const calls = await apiCalls(em.url, creds.orgId);
    for await (const page of reconcilePages(session, 'Lead', { sinceMs: since }, { now, from: after }))
      resumed.push(...page.changes.map((c) => c.recordId.slice(0, 15)));
    expect(resumed.sort()).toEqual(ids.filter((id) => !pages[0]!.changes.some((c) => c.recordId.startsWith(id))).sort());
    // One query for the rest (its pages), one getDeleted.
    expect((await apiCalls(em.url, creds.orgId)) - calls).toBe(2);
  });
});
