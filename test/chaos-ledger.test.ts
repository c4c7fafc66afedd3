/**
 * The chaos suite's accounting (chaos/ledger.ts): every change of the emulator's log counted, even when a
 * fault empties the log; a change found by polling or reconcile under a row id is found; a change seen under
 * two ids is a duplicate under another id; a change superseded by a later delivered change of its record is
 * `superseded` inside a latest-state window (an expired replay window) or when a later polled copy of the
 * record shows its state, never silently.
 */
import { describe, expect, it } from 'vitest';
import { Ledger, type Ctx, type Published, type Receiver } from '../chaos/lib.js';
import { EventBus } from '../src/emulator/streaming/bus.js';
import { cdcEventId, rowEventId, rowVersion } from '../src/events/id.js';
import { toId18 } from '../src/events/salesforce-id.js';

const ORG = '00DRm0000000001MAA';
const A = toId18('00QRm0000000001')!;
const B = toId18('00QRm0000000002')!;
const TYPE = { CREATE: 'salesforce.record.created', UPDATE: 'salesforce.record.updated', DELETE: 'salesforce.record.deleted' } as const;

function setup() {
  const bus = new EventBus({ now: () => 0 });
  const ctx = { emulator: { emulator: { org: (id: string) => (id === ORG ? { bus } : undefined) } } } as unknown as Ctx;
  let tx = 0;
  const change = (changeType: keyof typeof TYPE, recordId: string, commitTimestamp: number, fields: Record<string, unknown> = {}) => {
    const transactionKey = `tx-${recordId}-${commitTimestamp}-${++tx}`;
    bus.publish('/data/LeadChangeEvent', {
      ChangeEventHeader: { entityName: 'Lead', recordIds: [recordId], changeType, commitTimestamp, transactionKey, sequenceNumber: 1 },
      ...fields,
    });
    const id = cdcEventId({ orgId: ORG, recordId, type: TYPE[changeType], commitTimestamp, transactionKey, sequenceNumber: 1 });
    return { id, content: `${TYPE[changeType]} ${recordId} ${commitTimestamp}` };
  };
  const events: Published[] = [];
  const receiver = { deliveries: [], invalid: [] } as unknown as Receiver;
  const deliver = (c: { id: string; content: string; record?: Record<string, unknown> }) => {
    events.push({ id: c.id, content: c.content, data: { detectedBy: 'reconcile', ...(c.record ? { record: c.record } : {}) } });
    receiver.deliveries.push({ webhookId: c.id, content: c.content, ...(c.record ? { record: c.record } : {}) });
  };
  /** What polling or reconcile publishes for a row: a row id, dated with the row's stamp, with its values. */
  const row = (changeType: keyof typeof TYPE, recordId: string, stamp: number, record: Record<string, unknown> = {}) => {
    const type = TYPE[changeType];
    const id = rowEventId({ orgId: ORG, recordId, type, stamp, ...(changeType === 'UPDATE' ? { version: rowVersion(record) } : {}) });
    return { id, content: `${type} ${recordId} ${stamp}`, record: { Id: recordId, ...record } };
  };
  return { bus, ctx, change, events, receiver, deliver, row };
}

describe('chaos Ledger', () => {
  it('keeps counting changes after a fault empties the log', () => {
    const { bus, ctx, change, events, receiver } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    change('CREATE', A, 1_000);
    bus.expireAll();
    change('UPDATE', A, 2_000);
    expect(bus.eventsAfter(0)).toHaveLength(1);
    expect(ledger.count(events, receiver).changes).toBe(2);
    ledger.close();
  });

  it('a change superseded by a later delivered change of its record is superseded inside a latest-state window, lost outside', () => {
    const { ctx, change, events, receiver, deliver } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    change('CREATE', A, 1_000);
    deliver(change('UPDATE', A, 2_000));
    change('CREATE', B, 1_500);
    change('UPDATE', B, 2_500); // B's later change was not delivered either: both lost

    const none = ledger.count(events, receiver);
    expect(none).toMatchObject({ changes: 4, delivered: 1, lost: 3 });
    expect(none.superseded).toBeUndefined();

    const inside = ledger.count(events, receiver, { sinceMs: 500, untilMs: 3_000 });
    expect(inside).toMatchObject({ changes: 4, delivered: 1, lost: 2, superseded: 1 });
    expect(inside.missing).toEqual([`${TYPE.CREATE} ${B} 1500`, `${TYPE.UPDATE} ${B} 2500`]);

    // The same change outside the window the service could not replay is a loss.
    expect(ledger.count(events, receiver, { sinceMs: 1_200, untilMs: 3_000 })).toMatchObject({ lost: 3, superseded: 0 });
  });

  it('an earlier delivered change does not supersede a later lost one', () => {
    const { ctx, change, events, receiver, deliver } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    deliver(change('CREATE', A, 1_000));
    change('DELETE', A, 2_000);
    expect(ledger.count(events, receiver, { sinceMs: 0, untilMs: 5_000 })).toMatchObject({ lost: 1, superseded: 0 });
  });

  it('a change found by reconcile or polling under a row id is found, by its record, type and second', () => {
    const { ctx, change, events, receiver, deliver, row } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    change('CREATE', A, 1_000, { LastName: 'a', LastModifiedDate: '1970-01-01T00:00:01.000Z' });
    change('DELETE', B, 3_000);
    deliver(row('CREATE', A, 1_000, { LastName: 'a', LastModifiedDate: '1970-01-01T00:00:01.000+0000' }));
    deliver(row('DELETE', B, 3_000));
    expect(ledger.count(events, receiver)).toMatchObject({ changes: 2, published: 2, delivered: 2, lost: 0, duplicates: 0, duplicatesWithSameId: true });
  });

  it('an update found by polling is the change whose state its values show', () => {
    const { ctx, change, events, receiver, deliver, row } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    change('CREATE', A, 1_000, { LastName: 'a', Company: 'x', LastModifiedDate: '1970-01-01T00:00:01.000Z' });
    deliver(change('UPDATE', A, 2_000, { Company: 'y', LastModifiedDate: '1970-01-01T00:00:02.000Z' }));
    change('UPDATE', A, 2_000, { Company: 'z', LastModifiedDate: '1970-01-01T00:00:02.000Z' }); // same second, not streamed
    deliver(row('CREATE', A, 1_000, { LastName: 'a', Company: 'x' }));
    // A poll between the two updates shows the first one's state: it is a copy of that change, and the second
    // change of the same second was never seen.
    deliver(row('UPDATE', A, 2_000, { LastName: 'a', Company: 'y', LastModifiedDate: '1970-01-01T00:00:02.000+0000' }));
    const c = ledger.count(events, receiver);
    expect(c).toMatchObject({ changes: 3, lost: 1, duplicates: 2, duplicatesOtherId: 2, duplicatesWithSameId: false });
    expect(c.missing).toEqual([`${TYPE.UPDATE} ${A} 2000`]);
    // The next poll shows the second one's state.
    deliver(row('UPDATE', A, 2_000, { LastName: 'a', Company: 'z', LastModifiedDate: '1970-01-01T00:00:02.000+0000' }));
    expect(ledger.count(events, receiver)).toMatchObject({ changes: 3, delivered: 3, lost: 0 });
  });

  it('two updates of one record in one second read by one poll: the earlier is superseded, not lost', () => {
    const { ctx, change, events, receiver, deliver, row } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    deliver(change('CREATE', A, 1_000, { LastName: 'a', Company: 'x', LastModifiedDate: '1970-01-01T00:00:01.000Z' }));
    change('UPDATE', A, 2_000, { Company: 'y', LastModifiedDate: '1970-01-01T00:00:02.000Z' });
    change('UPDATE', A, 2_000, { LastName: 'b', LastModifiedDate: '1970-01-01T00:00:02.000Z' });
    expect(ledger.count(events, receiver)).toMatchObject({ lost: 2 });
    deliver(row('UPDATE', A, 2_000, { LastName: 'b', Company: 'y', LastModifiedDate: '1970-01-01T00:00:02.000+0000' }));
    expect(ledger.count(events, receiver)).toMatchObject({ changes: 3, delivered: 2, lost: 0, superseded: 1, duplicates: 0 });
  });

  it('a change seen by CDC and by polling is one change and a duplicate under another id', () => {
    const { ctx, change, events, receiver, deliver, row } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    const created = change('CREATE', A, 1_000, { LastName: 'a', LastModifiedDate: '1970-01-01T00:00:01.000Z' });
    deliver(created);
    deliver(row('CREATE', A, 1_000, { LastName: 'a' }));
    deliver(created); // read again under its own id
    expect(ledger.count(events, receiver)).toMatchObject({
      changes: 1,
      delivered: 1,
      lost: 0,
      duplicates: 4,
      duplicatesSameId: 2,
      duplicatesOtherId: 2,
      duplicatesWithSameId: false,
      idCollisions: 0,
    });
  });

  it('one id carried by two changes is a collision', () => {
    const { ctx, change, events, receiver, deliver } = setup();
    const ledger = new Ledger(ctx, [ORG], ['Lead']);
    const a = change('CREATE', A, 1_000);
    change('CREATE', B, 1_000);
    deliver(a);
    deliver({ id: a.id, content: `${TYPE.CREATE} ${B} 1000` });
    expect(ledger.count(events, receiver)).toMatchObject({ lost: 1, idCollisions: 2, duplicatesWithSameId: false });
  });
});
