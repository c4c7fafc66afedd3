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
    await expect(retry(fast, async () => { n++; throw new TerminalError('VALIDATION', 'bad'); })).rejects.toThrow('bad');
    await expect(retry(fast, async () => { n++; throw new TypeError('bug'); })).rejects.toThrow('bug');
    expect(n).toBe(2);
  });

  it('gives up after maxAttempts with the last error', async () => {
    let n = 0;
    await expect(retry(fast, async () => { throw new TransientError('KAFKA', `fail ${++n}`); })).rejects.toThrow('fail 4');
  });

  it('bail() ends the loop with the given error', async () => {
    await expect(retry(fast, async ({ bail }) => bail(new Error('enough')))).rejects.toThrow('enough');
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const p = retry(retryPolicy({ maxAttempts: 100, initialDelayMs: 50, jitter: 0 }), async () => {
      throw new TransientError('KAFKA', 'down');
    }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow();
  });
});
