import { describe, expect, it } from 'vitest';
import { testLogger } from '../../core/log.js';
import { Committer } from './committer.js';
import { Cursors } from './cursors.js';
import { FAST_RETRY } from '../../../testkit/source/cdc.js';
import type { CdcPosition } from './types.js';

const CH = '/data/AccountChangeEvent';
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(commit: (p: Map<string, CdcPosition>) => Promise<void>) {
  const cursors = new Cursors([CH], new Map());
  const committer = new Committer({ take: () => cursors.takeDirty(), restore: (f) => cursors.restore(f), commit, policy: FAST_RETRY, logger: testLogger() });
  const process = (id: string) => {
    cursors.processed(CH, { replayId: id, commitTimestamp: Number(id) });
    committer.request();
  };
  return { cursors, committer, process };
}

describe('Committer', () => {
  it('keeps one commit in flight and coalesces what was processed meanwhile into the next one', async () => {
    const store: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const { committer, process } = setup(async (p) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await settle(30);
      store.push(p.get(CH)!.replayId);
      inFlight--;
    });
    for (const id of ['1', '2', '3', '4']) process(id);
    await settle(150);
    expect(maxInFlight).toBe(1);
    expect(store).toEqual(['1', '4']);
    await committer.close();
  });

  it('a failed commit is retried with the newest position; close() commits what is left', async () => {
    const store: string[] = [];
    let fail = 2;
    const { committer, process } = setup(async (p) => {
      if (fail-- > 0) throw new Error('store down');
      store.push(p.get(CH)!.replayId);
    });
    process('1');
    await settle(5);
    process('2');
    await settle(200);
    expect(store).toEqual(['2']);
    process('3');
    await committer.close();
    expect(store.at(-1)).toBe('3');
  });
});
