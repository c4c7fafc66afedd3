import { describe, expect, it } from 'vitest';
import { baseDelay, delayFor, retry, retryPolicy } from './retry.js';
import { TerminalError, TransientError } from './errors.js';

describe('retry policy', () => {
  it('grows exponentially up to the cap', () => {
    const p = retryPolicy({ initialDelayMs: 100, multiplier: 3, maxDelayMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4].map((n) => baseDelay(p, n))).toEqual([100, 300, 900, 1000]);
  });

  it('follows an explicit schedule and derives maxAttempts from it', () => {
    const p = retryPolicy({ schedule: [5, 50, 500], jitter: 0 });
    expect(p.maxAttempts).toBe(4);
    expect([1, 2, 3].map((n) => baseDelay(p, n))).toEqual([5, 50, 500]);
  });

  it('keeps jitter within bounds and honours Retry-After when longer', () => {
    const p = retryPolicy({ initialDelayMs: 1000, jitter: 0.2 });
    expect(delayFor(p, 1, undefined, () => 0)).toBe(800);
    expect(delayFor(p, 1, undefined, () => 1)).toBe(1200);
    expect(delayFor(p, 1, new TransientError('DELIVERY', 'slow down', { retryAfterMs: 9000 }), () => 0.5)).toBe(9000);
  });

  it('rejects an invalid policy', () => {
    expect(() => retryPolicy({ maxAttempts: 0 })).toThrow();
    expect(() => retryPolicy({ jitter: 2 })).toThrow();
  });
});

describe('retry', () => {
  const fast = retryPolicy({ maxAttempts: 4, initialDelayMs: 1, jitter: 0 });

  it('retries transient failures until success', async () => {
    let n = 0;
    const out = await retry(fast, async () => {
      if (++n < 3) throw new TransientError('KAFKA', 'not yet');
      return 'ok';
    });
    expect(out).toBe('ok');
    expect(n).toBe(3);
  });

  it('stops at once on terminal and programmer errors', async () => {
    let n = 0;
    await expect(
      retry(fast, async () => {
        n++;
        throw new TerminalError('VALIDATION', 'bad');
      }),
    ).rejects.toThrow('bad');
    await expect(
      retry(fast, async () => {
        n++;
        throw new TypeError('bug');
      }),
    ).rejects.toThrow('bug');
    expect(n).toBe(2);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let n = 0;
    await expect(
      retry(fast, async () => {
        throw new TransientError('KAFKA', `fail ${++n}`);
      }),
    ).rejects.toThrow('fail 4');
  });

  it('bail() ends the loop with the given error', async () => {
    await expect(retry(fast, async ({ bail }) => bail(new Error('enough')))).rejects.toThrow('enough');
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const p = retry(
      retryPolicy({ maxAttempts: 100, initialDelayMs: 50, jitter: 0 }),
      async () => {
        throw new TransientError('KAFKA', 'down');
      },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow();
  });

  it('forever: keeps trying past maxAttempts until success, the policy only pacing the attempts', async () => {
    let n = 0;
    const delays: number[] = [];
    const out = await retry(
      fast,
      async ({ attempt }) => {
        n++;
        if (attempt < 10) throw new TransientError('KAFKA', 'not yet');
        return attempt;
      },
      { forever: true, onRetry: (_err, _attempt, delay) => delays.push(delay) },
    );
    expect(out).toBe(10);
    expect(n).toBe(10);
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  });

  it('retryIf decides which failures are tried again, terminal ones included', async () => {
    let n = 0;
    const out = await retry(
      fast,
      async () => {
        if (++n < 3) throw new TypeError('a bug fixed by the next deploy');
        return 'ok';
      },
      { retryIf: () => true },
    );
    expect(out).toBe('ok');
    let m = 0;
    await expect(
      retry(
        fast,
        async () => {
          m++;
          throw new TransientError('KAFKA', 'down');
        },
        { retryIf: () => false },
      ),
    ).rejects.toThrow('down');
    expect(m).toBe(1);
  });

  it('waits through the given wait, and what it throws ends the retries', async () => {
    const waited: number[] = [];
    let n = 0;
    const p = retry(
      fast,
      async () => {
        n++;
        throw new TransientError('KAFKA', 'down');
      },
      {
        forever: true,
        wait: async (ms) => {
          waited.push(ms);
          if (waited.length === 3) throw new Error('partition moved on');
        },
      },
    );
    await expect(p).rejects.toThrow('partition moved on');
    expect(waited).toEqual([1, 2, 4]);
    expect(n).toBe(3);
  });
});
