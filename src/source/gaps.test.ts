import { describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { TransientError } from '../core/errors.js';
import { createNormalizer, type RawChange } from '../normalize/index.js';
import { cdcMessage } from '../../testkit/fixtures/normalize/load.js';
import type { CdcMessage } from './cdc/types.js';
import { changesOfCdcBatch, gapStart, reconcileWindow, type OrgReads } from './gaps.js';
import { OVERLAP_MARGIN_MS } from './overlap.js';

const ORG = '00D000000000001AAA';
const A1 = '001000000000001AAA';
const A2 = '001000000000002AAA';
const normalizer = createNormalizer({ orgId: ORG, connectionId: 'c1' });

function msg(spec: Parameters<typeof cdcMessage>[0]): CdcMessage {
  const m = cdcMessage(spec);
  return { channel: m['channel'] as string, data: m['data'] as unknown, replayId: String(spec.replayId ?? 1) };
}

function reads(rows: Record<string, Record<string, unknown>[]> = {}): OrgReads & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async *pages(object, window) {
      calls.push(`reconcile ${object} ${window.sinceMs}`);
      yield { changes: [], next: undefined };
    },
    async fetchRecords(object, ids) {
      calls.push(`fetch ${object} ${ids.join(',')}`);
      return rows[object] ?? [];
    },
  };
}

let overflows: string[] = [];
const run = (batch: CdcMessage[], r: OrgReads) => {
  overflows = [];
  return changesOfCdcBatch(batch, {
    normalizer,
    reads: r,
    overflow: async (object, sinceMs) => {
      overflows.push(`${object} ${sinceMs}`);
    },
    logger: testLogger(),
  });
};

describe('completing a CDC batch', () => {
  it('passes change events through as they are, reading nothing', async () => {
    const r = reads();
    const out = await run([msg({ entityName: 'Account', recordIds: [A1], changeType: 'CREATE', body: { Name: 'A' } })], r);
    expect(out.map((c) => [c.recordId, c.changeType, c.detectedBy, c.record['Name']])).toEqual([[A1, 'CREATE', 'cdc', 'A']]);
    expect(r.calls).toEqual([]);
  });

  it("reads a GAP event's records and gives them the GAP event's own facts", async () => {
    const r = reads({ Account: [{ attributes: { type: 'Account' }, Id: A1, Name: 'read back', SystemModstamp: '2024-05-29T16:26:40.000+0000' }] });
    const [c, ...rest] = await run(
      [
        msg({
          entityName: 'Account',
          recordIds: [A1],
          changeType: 'GAP_UPDATE',
          commitTimestamp: 1_717_000_002_000,
          transactionKey: 'tx-9',
          sequenceNumber: 3,
        }),
      ],
      r,
    );
    expect(rest).toEqual([]);
    expect(r.calls).toEqual([`fetch Account ${A1}`]);
    expect(c).toMatchObject<Partial<RawChange>>({
      object: 'Account',
      recordId: A1,
      changeType: 'UPDATE',
      commitTimestamp: 1_717_000_002_000,
      transactionKey: 'tx-9',
      sequenceNumber: 3,
      detectedBy: 'reconcile',
      changedFields: [],
      changedFieldsUnknown: true,
    });
    expect(c!.record['Name']).toBe('read back');
  });

  it('turns a GAP_DELETE into deletes without reading, since the rows are gone', async () => {
    const r = reads();
    const out = await run([msg({ entityName: 'Account', recordIds: [A1, A2], changeType: 'GAP_DELETE' })], r);
    expect(out.map((c) => [c.recordId, c.changeType, c.detectedBy])).toEqual([
      [A1, 'DELETE', 'reconcile'],
      [A2, 'DELETE', 'reconcile'],
    ]);
    expect(r.calls).toEqual([]);
  });

  it('hands a wildcard GAP and an overflow to a read back from the overlap margin before the commit, reading nothing inside the batch', async () => {
    const r = reads();
    const t = 1_717_000_000_000;
    const out = await run(
      [
        msg({ entityName: 'Account', recordIds: ['001*'], changeType: 'GAP_UPDATE', commitTimestamp: t }),
        msg({ entityName: 'Account', recordIds: ['000000000000000AAA'], changeType: 'GAP_OVERFLOW', commitTimestamp: t + 5_000 }),
      ],
      r,
    );
    expect(overflows).toEqual([`Account ${t - OVERLAP_MARGIN_MS}`, `Account ${t + 5_000 - OVERLAP_MARGIN_MS}`]);
    expect(r.calls).toEqual([]);
    expect(out).toEqual([]);
  });

  it('skips an unreadable event', async () => {
    const out = await run(
      [{ channel: '/data/AccountChangeEvent', data: { payload: 'garbage', event: { replayId: 4 } }, replayId: '4' } as unknown as CdcMessage],
      reads(),
    );
    expect(out).toEqual([]);
  });
});

describe('reading a window back', () => {
  it('hands over page by page and retries from the page it stopped at', async () => {
    const change = (id: string): RawChange => ({
      object: 'Account',
      recordId: id,
      changeType: 'DELETE',
      changedFields: [],
      record: { Id: id },
      commitTimestamp: 1,
      detectedBy: 'reconcile',
    });
    const starts: unknown[] = [];
    let failed = false;
    const flaky: OrgReads = {
      async *pages(_object, _window, from) {
        starts.push(from);
        if (from === undefined) yield { changes: [change(A1)], next: { phase: 'rows', since: 5, afterId: A1 } };
        if (!failed) {
          failed = true;
          throw new TransientError('SALESFORCE', 'busy');
        }
        yield { changes: [change(A2)], next: undefined };
      },
      fetchRecords: async () => [],
    };
    const handed: string[][] = [];
    await expect(reconcileWindow(flaky, 'Account', 0, async (cs) => void handed.push(cs.map((c) => c.recordId)))).resolves.toBe(2);
    expect(handed).toEqual([[A1], [A2]]);
    expect(starts).toEqual([undefined, { phase: 'rows', since: 5, afterId: A1 }]);
  });
});

describe('where a gap is read back from', () => {
  it('a start at -1 from its own time, a lost replay position from the overlap margin before the last processed commit', () => {
    expect(gapStart({ replayId: '-1', commitTimestamp: 50_000 })).toBe(50_000);
    expect(gapStart({ replayId: '77', commitTimestamp: 50_000 })).toBe(50_000 - OVERLAP_MARGIN_MS);
  });
});
