import { describe, expect, it } from 'vitest';
import type { ForcehookEvent } from '../events/schema.js';
import type { RawChange } from '../normalize/index.js';
import { createMetrics } from '../observability/metrics.js';
import type { Publisher } from '../publish/publisher.js';
import { createIngest } from './ingest.js';
import { Sightings } from './sightings.js';

const ORG = '00D000000000001AAA';
const LEAD = '00Q000000000001AAA';
const ACCOUNT = '001000000000001AAA';

function change(over: Partial<RawChange> = {}): RawChange {
  return {
    object: 'Lead',
    recordId: LEAD,
    changeType: 'CREATE',
    changedFields: [],
    record: { Id: LEAD, LastName: 'L' },
    commitTimestamp: 1_000,
    detectedBy: 'cdc',
    ...over,
  };
}

function publisher(opts: { fail?: boolean } = {}): Publisher & { events: ForcehookEvent[] } {
  const events: ForcehookEvent[] = [];
  return {
    events,
    async publish(batch) {
      if (opts.fail) throw new Error('broker down');
      events.push(...batch);
    },
    async flush() {},
  };
}

function stage(p: Publisher, now = () => 5_000) {
  const metrics = createMetrics();
  const sightings = new Sightings('c1', Sightings.cache());
  return { metrics, sightings, ingest: createIngest({ orgId: ORG, connectionId: 'c1', publisher: p, sightings, metrics, now }) };
}

describe('the ingest stage', () => {
  it('detects, publishes, and records the lag, each object’s last event and the detection metrics once Kafka acknowledged', async () => {
    const p = publisher();
    const { ingest, metrics } = stage(p);
    await ingest.ingest([
      change({ commitTimestamp: 1_000 }),
      change({
        object: 'Account',
        recordId: ACCOUNT,
        changeType: 'UPDATE',
        changedFields: ['Name'],
        record: { Id: ACCOUNT, Name: 'A' },
        commitTimestamp: 3_000,
        detectedBy: 'polling',
      }),
    ]);
    expect(p.events.map((e) => [e.type, e.data.object, e.data.connectionId, e.data.orgId])).toEqual([
      ['salesforce.record.created', 'Lead', 'c1', ORG],
      ['salesforce.record.updated', 'Account', 'c1', ORG],
    ]);
    // Ack at 5 000, newest commit 3 000.
    expect(ingest.lag()).toEqual({ commitTimestamp: 3_000, lagMs: 2_000 });
    expect(ingest.lastEventAt('lead')).toBe(1_000);
    expect(ingest.lastEventAt('ACCOUNT')).toBe(3_000);
    const counted = (await metrics.changesDetected.get()).values.map((v) => [v.labels.trigger, v.labels.mode, v.value]);
    expect(counted).toEqual(
      expect.arrayContaining([
        ['record.created', 'cdc', 1],
        ['record.updated', 'polling', 1],
      ]),
    );
  });

  it('keeps the newest lag when an older batch is acknowledged later', async () => {
    let now = 10_000;
    const { ingest } = stage(publisher(), () => now);
    await ingest.ingest([change({ commitTimestamp: 9_000 })]);
    now = 20_000;
    await ingest.ingest([change({ recordId: '00Q000000000002AAA', record: { Id: '00Q000000000002AAA' }, commitTimestamp: 4_000, detectedBy: 'reconcile' })]);
    expect(ingest.lag()).toEqual({ commitTimestamp: 9_000, lagMs: 1_000 });
  });

  it('records nothing when Kafka did not acknowledge: the caller keeps its position and the change is read again', async () => {
    const { ingest, sightings, metrics } = stage(publisher({ fail: true }));
    sightings.streaming('lead');
    await expect(ingest.ingest([change()])).rejects.toThrow('broker down');
    expect(ingest.lag()).toBeUndefined();
    expect(ingest.lastEventAt('Lead')).toBeUndefined();
    expect((await metrics.changesDetected.get()).values).toEqual([]);
    // A reconcile reading the same change finds no sighting to take its id from.
    expect(sightings.sameChange(change({ detectedBy: 'reconcile' }))).toBeUndefined();
  });

  it('gives a reconciled change the id of the streamed one it repeats', async () => {
    const p = publisher();
    const { ingest, sightings } = stage(p);
    sightings.streaming('lead');
    await ingest.ingest([change({ transactionKey: 'tx-1', sequenceNumber: 1, commitTimestamp: 2_000 })]);
    // The same creation read back as a row: a record is created once, so it is the same change.
    await ingest.ingest([change({ commitTimestamp: 2_000, detectedBy: 'reconcile' })]);
    expect(p.events).toHaveLength(2);
    expect(p.events[1]!.id).toBe(p.events[0]!.id);
  });

  it('publishes nothing for no changes', async () => {
    const p = publisher();
    const { ingest } = stage(p);
    await ingest.ingest([]);
    expect(p.events).toEqual([]);
    expect(ingest.lag()).toBeUndefined();
  });

  it('refuses a connection that is not an org’s', () => {
    expect(() => createIngest({ orgId: 'not-an-org', connectionId: 'c1', publisher: publisher(), sightings: new Sightings('c1'), now: Date.now })).toThrow();
  });
});
