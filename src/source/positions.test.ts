import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../state/records.js';
import { OVERLAP_MARGIN_MS } from './overlap.js';
import { FOLLOWED_SINCE, cdcStart, commitCdc, commitPoll, pollStart, type CheckpointStore } from './positions.js';

const C = 'c1';
const NOW = Date.parse('2024-06-01T12:00:00Z');

function memoryStore(initial: Checkpoint[] = []): CheckpointStore & { all: Checkpoint[] } {
  const all = [...initial];
  const find = <K extends Checkpoint['kind']>(kind: K, pred: (c: Extract<Checkpoint, { kind: K }>) => boolean) =>
    all.find((c): c is Extract<Checkpoint, { kind: K }> => c.kind === kind && pred(c as Extract<Checkpoint, { kind: K }>));
  return {
    all,
    cdcCheckpoint: (connectionId, channel) => find('cdc', (c) => c.connectionId === connectionId && c.channel === channel),
    pollCheckpoint: (connectionId, object) => find('poll', (c) => c.connectionId === connectionId && c.object === object),
    async putCheckpoint(cp) {
      const i = all.findIndex(
        (c) =>
          c.kind === cp.kind &&
          c.connectionId === cp.connectionId &&
          (c.kind === 'cdc' ? c.channel === (cp as typeof c).channel : c.object === (cp as typeof c).object),
      );
      if (i >= 0) all[i] = cp;
      else all.push(cp);
    },
    async deletePollCheckpoint(connectionId, object) {
      const i = all.findIndex((c) => c.kind === 'poll' && c.connectionId === connectionId && c.object === object);
      if (i >= 0) all.splice(i, 1);
    },
  };
}

const at = (ms: number) => new Date(ms).toISOString();

describe('CDC start positions', () => {
  it('a first follow makes its start durable before subscribing at -1, and reads back from it once subscribed', async () => {
    const store = memoryStore();
    const start = await cdcStart(store, C, ['Account'], NOW);
    expect(start.positions.size).toBe(0);
    expect(start.catchUp.get('/data/AccountChangeEvent')).toEqual({ replayId: '-1', commitTimestamp: NOW - OVERLAP_MARGIN_MS });
    expect(store.all).toEqual([
      {
        kind: 'cdc',
        connectionId: C,
        channel: '/data/AccountChangeEvent',
        replayId: FOLLOWED_SINCE,
        commitTimestamp: NOW - OVERLAP_MARGIN_MS,
        updatedAt: at(NOW),
      },
    ]);
    // A restart (or another instance) before the first event reads back from the same time, not a later "now".
    const again = await cdcStart(store, C, ['Account'], NOW + 60_000);
    expect(again.catchUp.get('/data/AccountChangeEvent')).toEqual({ replayId: '-1', commitTimestamp: NOW - OVERLAP_MARGIN_MS });
    expect(store.all).toHaveLength(1);
  });

  it('resumes after the last processed event', async () => {
    const store = memoryStore([
      { kind: 'cdc', connectionId: C, channel: '/data/LeadChangeEvent', replayId: '42', commitTimestamp: NOW - 5_000, updatedAt: at(NOW) },
    ]);
    const start = await cdcStart(store, C, ['Lead'], NOW);
    expect(start.positions.get('/data/LeadChangeEvent')).toEqual({ replayId: '42', commitTimestamp: NOW - 5_000 });
    expect(start.catchUp.size).toBe(0);
  });
});

describe('poll start positions', () => {
  it('a first follow starts at now, durably', async () => {
    const store = memoryStore();
    const cursors = await pollStart(store, C, ['Lead'], NOW);
    expect(cursors.size).toBe(0);
    expect(store.all).toEqual([{ kind: 'poll', connectionId: C, object: 'Lead', systemModstamp: NOW, lastId: '', deletedUntil: NOW, updatedAt: at(NOW) }]);
  });

  it('resumes from its own cursor while polling owns the object; a poll checkpoint the stream passed long ago is stale', async () => {
    const store = memoryStore([
      { kind: 'poll', connectionId: C, object: 'Lead', systemModstamp: NOW - 1_000, lastId: '00Q1', deletedUntil: NOW - 2_000, updatedAt: at(NOW) },
      { kind: 'cdc', connectionId: C, channel: '/data/LeadChangeEvent', replayId: '3', commitTimestamp: NOW - 30_000, updatedAt: at(NOW) },
      { kind: 'poll', connectionId: C, object: 'Invoice__c', systemModstamp: NOW - 900_000, lastId: 'a001', deletedUntil: NOW - 900_000, updatedAt: at(NOW) },
      { kind: 'cdc', connectionId: C, channel: '/data/Invoice__ChangeEvent', replayId: '7', commitTimestamp: NOW - 3_000, updatedAt: at(NOW) },
    ]);
    const cursors = await pollStart(store, C, ['Lead', 'Invoice__c'], NOW);
    expect(cursors.get('Lead')).toEqual({ systemModstamp: NOW - 1_000, lastId: '00Q1', deletedUntil: NOW - 2_000 });
    expect(cursors.get('Invoice__c')).toEqual({ systemModstamp: NOW - 3_000, lastId: '', deletedUntil: NOW - 3_000 - OVERLAP_MARGIN_MS });
    // The handover's start is durable: polling owns Invoice__c now.
    expect(store.all.find((c) => c.kind === 'poll' && c.object === 'Invoice__c')).toMatchObject({ systemModstamp: NOW - 3_000 });
  });
});

describe('handovers between the stream and polling', () => {
  const LEAD = '/data/LeadChangeEvent';

  it('polling to streaming: the channel starts at -1 and reads back from the margin before the poll position (or its getDeleted window); the poll checkpoint goes', async () => {
    const store = memoryStore([
      // An old stream position from before the object was polled: resuming from it would skip the polled period.
      { kind: 'cdc', connectionId: C, channel: LEAD, replayId: '42', commitTimestamp: NOW - 3_600_000, updatedAt: at(NOW - 3_600_000) },
      { kind: 'poll', connectionId: C, object: 'Lead', systemModstamp: NOW - 10_000, lastId: '00Q1', deletedUntil: NOW - 120_000, updatedAt: at(NOW) },
    ]);
    const start = await cdcStart(store, C, ['Lead'], NOW);
    expect(start.positions.size).toBe(0);
    expect(start.catchUp.get(LEAD)).toEqual({ replayId: '-1', commitTimestamp: NOW - 120_000 });
    expect(store.all).toEqual([{ kind: 'cdc', connectionId: C, channel: LEAD, replayId: FOLLOWED_SINCE, commitTimestamp: NOW - 120_000, updatedAt: at(NOW) }]);
  });

  it('polled only while streaming was refused (the entity stayed selected): the stream resumes from its checkpoint, the poll checkpoint goes', async () => {
    const store = memoryStore([
      { kind: 'cdc', connectionId: C, channel: LEAD, replayId: '42', commitTimestamp: NOW - 600_000, updatedAt: at(NOW - 600_000) },
      { kind: 'poll', connectionId: C, object: 'Lead', systemModstamp: NOW - 10_000, lastId: '00Q1', deletedUntil: NOW - 120_000, updatedAt: at(NOW) },
    ]);
    const start = await cdcStart(store, C, ['Lead'], NOW, new Set(['lead']));
    expect(start.positions.get(LEAD)).toEqual({ replayId: '42', commitTimestamp: NOW - 600_000 });
    expect(start.catchUp.size).toBe(0);
    expect(store.pollCheckpoint(C, 'Lead')).toBeUndefined();
  });

  it('streaming to polling and back, several times: each start is the side left, and an old poll position never comes back', async () => {
    const store = memoryStore();
    // Polled first.
    await pollStart(store, C, ['Lead'], NOW);
    await commitPoll(store, C, new Map([['Lead', { systemModstamp: NOW + 5_000, lastId: '00Q1', deletedUntil: NOW }]]), NOW + 10_000);
    // Selected for CDC: read back from the poll position.
    let cdc = await cdcStart(store, C, ['Lead'], NOW + 20_000);
    expect(cdc.catchUp.get(LEAD)?.commitTimestamp).toBe(NOW + 5_000 - OVERLAP_MARGIN_MS);
    expect(store.pollCheckpoint(C, 'Lead')).toBeUndefined();
    // Streamed for a while.
    await commitCdc(store, C, new Map([[LEAD, { replayId: '50', commitTimestamp: NOW + 600_000 }]]), NOW + 600_000);
    // Deselected: polling starts where the stream stopped, not at the old poll position.
    const polled = await pollStart(store, C, ['Lead'], NOW + 700_000);
    expect(polled.get('Lead')).toEqual({ systemModstamp: NOW + 600_000, lastId: '', deletedUntil: NOW + 600_000 - OVERLAP_MARGIN_MS });
    // Selected again: read back from that polling period, not resumed from replay 50 (the entity made no events meanwhile).
    cdc = await cdcStart(store, C, ['Lead'], NOW + 800_000);
    expect(cdc.positions.size).toBe(0);
    expect(cdc.catchUp.get(LEAD)?.commitTimestamp).toBe(NOW + 600_000 - OVERLAP_MARGIN_MS);
    // And once more to polling: the stream's start is the position.
    const again = await pollStart(store, C, ['Lead'], NOW + 900_000);
    expect(again.get('Lead')?.systemModstamp).toBe(NOW + 600_000 - OVERLAP_MARGIN_MS);
  });
});

describe('checkpoints', () => {
  it('are written with the time they were taken', async () => {
    const store = memoryStore();
    await commitCdc(store, C, new Map([['/data/LeadChangeEvent', { replayId: '9', commitTimestamp: NOW - 1 }]]), NOW);
    await commitPoll(store, C, new Map([['Lead', { systemModstamp: NOW - 2, lastId: '00Q2', deletedUntil: NOW - 3 }]]), NOW);
    expect(store.all).toEqual([
      { kind: 'cdc', connectionId: C, channel: '/data/LeadChangeEvent', replayId: '9', commitTimestamp: NOW - 1, updatedAt: at(NOW) },
      { kind: 'poll', connectionId: C, object: 'Lead', systemModstamp: NOW - 2, lastId: '00Q2', deletedUntil: NOW - 3, updatedAt: at(NOW) },
    ]);
  });
});
