import { afterEach, describe, expect, it, vi } from 'vitest';
import { isRetriable } from './errors.js';
import { withTimeout } from './timeout.js';

describe('withTimeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers what the promise answers before the deadline', async () => {
    await expect(withTimeout(Promise.resolve(7), 1_000, 'a call')).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error('refused')), 1_000, 'a call')).rejects.toThrow('refused');
  });

  it('rejects with a retriable TIMEOUT naming the call once the deadline passes', async () => {
    vi.useFakeTimers();
    const late = withTimeout(new Promise<never>(() => undefined), 5_000, 'reading the CDC selection');
    const seen = late.catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    const err = await seen;
    expect(err).toMatchObject({ code: 'TIMEOUT', message: 'reading the CDC selection: no answer within 5000 ms' });
    expect(isRetriable(err)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
