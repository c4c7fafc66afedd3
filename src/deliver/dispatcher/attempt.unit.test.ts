import { describe, expect, it } from 'vitest';
import type { DeliveryAttempt } from '../types.js';
import { EngineAttempt } from './attempt.js';

const make = () =>
  new EngineAttempt(
    's:e',
    { id: 's' } as DeliveryAttempt['subscription'],
    { specversion: '1.0', id: 'e', source: '/s', type: 't', data: {} },
    1,
    1_000,
    Date.now,
  );

describe('EngineAttempt', () => {
  it('calls each abort listener once with the reason; an unregistered one never', () => {
    const a = make();
    const seen: unknown[] = [];
    a.onAbort((r) => seen.push(['first', r]));
    const off = a.onAbort((r) => seen.push(['gone', r]));
    off();
    a.abort('budget');
    a.abort('again');
    expect(seen).toEqual([['first', 'budget']]);
    // Registered after the abort: told at once.
    a.onAbort((r) => seen.push(['late', r]));
    expect(seen.at(-1)).toEqual(['late', 'budget']);
  });

  it('makes the signal only when asked, carrying an abort that happened before', () => {
    const a = make();
    const early = a.signal;
    expect(early.aborted).toBe(false);
    a.abort('stop');
    expect(early.aborted).toBe(true);
    const b = make();
    b.abort('budget');
    expect(b.signal.aborted).toBe(true);
    expect(b.signal.reason).toBe('budget');
  });
});
