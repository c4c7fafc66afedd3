/**
 * The chaos suite's accounting (chaos/lib.ts Ledger): every change of the emulator's log counted, even when a
 * fault empties the log, and a change superseded by a later delivered change of its record reported as
 * `superseded` only inside a latest-state window (an expired replay window), never silently.
 */
import { describe, expect, it } from 'vitest';
import { Ledger, type Ctx, type Published, type Receiver } from '../chaos/lib.js';
import { EventBus } from '../src/emulator/streaming/bus.js';
import { cdcEventId } from '../src/events/id.js';
import { toId18 } from '../src/events/salesforce-id.js';

const ORG = '00DRm0000000001MAA';
const A = toId18('00QRm0000000001')!;
const B = toId18('00QRm0000000002')!;
const TYPE = { CREATE: 'salesforce.record.created', UPDATE: 'salesforce.record.updated', DELETE: 'salesforce.record.deleted' } as const;

function setup() {
  const bus = new EventBus({ now: () => 0 });
  const ctx = { emulator: { emulator: { org: (id: string) => (id === ORG ? { bus } : undefined) } } } as unknown as Ctx;
  const change = (changeType: keyof typeof TYPE, recordId: string, commitTimestamp: number) => {
    const transactionKey = `tx-${recordId}-${commitTimestamp}`;
    bus.publish('/data/LeadChangeEvent', { ChangeEventHeader: { entityName: 'Lead', recordIds: [recordId], changeType, commitTimestamp, transactionKey, sequenceNumber: 1 } });
    const id = cdcEventId({ orgId: ORG, recordId, type: TYPE[changeType], commitTimestamp, transactionKey, sequenceNumber: 1 });
    return { id, content: `${TYPE[changeType]} ${recordId} ${commitTimestamp}` };
  };
  const events: Published[] = [];
  const receiver = { deliveries: [], invalid: [] } as unknown as Receiver;
  const deliver = (c: { id: string; content: string }) => {
    events.push({ id: c.id, content: c.content, detectedBy: 'reconcile' });
    receiver.deliveries.push({ webhookId: c.id, content: c.content });
  };
  return { bus, ctx, change, events, receiver, deliver };
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
});
