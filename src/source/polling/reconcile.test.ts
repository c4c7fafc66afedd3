import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../emulator/server.js';
import { fetchRecords, reconcile } from './reconcile.js';
import { admin, apiCalls, newOrg, sessionFor, silent, writer } from '../../../testkit/source/polling.js';

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
});
