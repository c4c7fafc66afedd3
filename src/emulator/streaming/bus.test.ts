import { describe, expect, it } from 'vitest';
import { EventBus, changeEventChannel, channelReceives } from './bus.js';

const H = 3600 * 1000;
const ev = (entity: string) => ({ ChangeEventHeader: { entityName: entity } });

describe('EventBus', () => {
  it('maps entities to CDC channels', () => {
    expect(changeEventChannel('Account')).toBe('/data/AccountChangeEvent');
    expect(changeEventChannel('CampaignMember')).toBe('/data/CampaignMemberChangeEvent');
    expect(changeEventChannel('Employee__c')).toBe('/data/Employee__ChangeEvent');
    expect(channelReceives('/data/ChangeEvents', '/data/Employee__ChangeEvent')).toBe(true);
    expect(channelReceives('/data/ChangeEvents', '/data/Sales__chn')).toBe(false);
    expect(channelReceives('/data/AccountChangeEvent', '/data/ContactChangeEvent')).toBe(false);
  });

  it('gives strictly increasing replayIds and files /data/ChangeEvents publishes under the entity channel', () => {
    const bus = new EventBus({ now: () => 0 });
    const a = bus.publish('/data/AccountChangeEvent', ev('Account'));
    const b = bus.publish('/data/ChangeEvents', ev('Invoice__c'));
    expect(b.replayId).toBeGreaterThan(a.replayId);
    expect(b.channel).toBe('/data/Invoice__ChangeEvent');
    expect(b.schema).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(() => bus.publish('/data/ChangeEvents', {})).toThrow();
  });

  it('eventsAfter filters by channel and starts after N', () => {
    const bus = new EventBus({ now: () => 0 });
    const ids = ['Account', 'Contact', 'Account', 'Contact'].map((e) => bus.publish(changeEventChannel(e), ev(e)).replayId);
    expect(bus.eventsAfter(-Infinity, '/data/ContactChangeEvent').map((e) => e.replayId)).toEqual([ids[1], ids[3]]);
    expect(bus.eventsAfter(ids[1]!, '/data/ChangeEvents').map((e) => e.replayId)).toEqual([ids[2], ids[3]]);
    expect(bus.eventsAfter(ids[3]!)).toEqual([]);
  });

  it('expires by the movable clock after 72 h, and expireAll drops everything retained so far', () => {
    const clock = { now: 0 };
    const bus = new EventBus({ now: () => clock.now });
    const first = bus.publish('/data/AccountChangeEvent', ev('Account')).replayId;
    clock.now = 10 * H;
    const second = bus.publish('/data/AccountChangeEvent', ev('Account')).replayId;
    expect(bus.isValidReplayId(first)).toBe(true);
    clock.now = 72 * H + 1;
    expect(bus.isValidReplayId(first)).toBe(false);
    expect(bus.isValidReplayId(second)).toBe(true);
    expect(bus.retained()).toBe(1);
    expect(bus.isValidReplayId(second + 1)).toBe(false);
    bus.expireAll();
    expect(bus.retained()).toBe(0);
    expect(bus.isValidReplayId(second)).toBe(false);
    const third = bus.publish('/data/AccountChangeEvent', ev('Account')).replayId;
    expect(third).toBe(second + 1);
    expect(bus.eventsAfter(-Infinity).map((e) => e.replayId)).toEqual([third]);
  });

  it('a count cap behaves like expiry and the array compacts', () => {
    const bus = new EventBus({ now: () => 0, maxRetained: 1000 });
    for (let i = 0; i < 5000; i++) bus.publish('/data/AccountChangeEvent', ev('Account'));
    expect(bus.retained()).toBe(1000);
    expect(bus.isValidReplayId(4000)).toBe(false);
    expect(bus.isValidReplayId(4001)).toBe(true);
    expect(bus.eventsAfter(4998).map((e) => e.replayId)).toEqual([4999, 5000]);
  });

  it('notifies listeners synchronously and stops after unsubscribe', () => {
    const bus = new EventBus({ now: () => 0 });
    const seen: number[] = [];
    const off = bus.subscribe((e) => seen.push(e.replayId));
    bus.publish('/data/AccountChangeEvent', ev('Account'));
    off();
    bus.publish('/data/AccountChangeEvent', ev('Account'));
    expect(seen).toEqual([1]);
    expect(bus.listenerCount()).toBe(0);
  });
});
