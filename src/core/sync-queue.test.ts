import { describe, expect, it } from 'vitest';
import { SyncQueue } from './sync-queue.js';

const tick = (ms = 5) => new Promise<void>((r) => setTimeout(r, ms));

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('SyncQueue', () => {
  it('runs one task at a time per key, in order; a key asked again while its task waits runs once more, not twice', async () => {
    const q = new SyncQueue(4, () => undefined);
    const log: string[] = [];
    const first = gate();
    q.push('a', async () => {
      log.push('a1 start');
      await first.wait;
      log.push('a1 end');
    });
    await tick();
    for (let i = 2; i <= 4; i++) q.push('a', async () => void log.push(`a${i}`));
    first.open();
    await q.idle();
    expect(log).toEqual(['a1 start', 'a1 end', 'a2']);
  });

  it('runs different keys side by side, never more than the limit', async () => {
    const q = new SyncQueue(3, () => undefined);
    let running = 0;
    let most = 0;
    const done: string[] = [];
    for (let i = 0; i < 10; i++) {
      q.push(`k${i}`, async () => {
        running++;
        most = Math.max(most, running);
        await tick(10);
        running--;
        done.push(`k${i}`);
      });
    }
    await q.idle();
    expect(most).toBe(3);
    expect(done).toHaveLength(10);
    expect(done.slice(0, 3).sort()).toEqual(['k0', 'k1', 'k2']); // started in the order asked
  });

  it('a key that hangs holds one slot, not the others; a failing task is reported and its key goes on', async () => {
    const errors: [string, string][] = [];
    const q = new SyncQueue(2, (err, key) => errors.push([key, (err as Error).message]));
    const stuck = gate();
    q.push('stuck', () => stuck.wait);
    q.push('bad', async () => {
      throw new Error('boom');
    });
    const done: string[] = [];
    for (let i = 0; i < 5; i++) q.push(`k${i}`, async () => void done.push(`k${i}`));
    await tick(20);
    q.push('bad', async () => void done.push('bad again'));
    await tick(20);
    expect(done).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'bad again']);
    expect(errors).toEqual([['bad', 'boom']]);
    expect(q.size).toBe(1);
    stuck.open();
    await q.idle();
    expect(q.size).toBe(0);
  });

  it('idle waits for work pushed while it waits', async () => {
    const q = new SyncQueue(1, () => undefined);
    const log: string[] = [];
    q.push('a', async () => {
      await tick();
      q.push('b', async () => {
        await tick();
        log.push('b');
      });
    });
    await q.idle();
    expect(log).toEqual(['b']);
  });
});
