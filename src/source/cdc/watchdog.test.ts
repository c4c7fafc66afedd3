import { describe, expect, it } from 'vitest';
import { WatchdogWheel } from './watchdog.js';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WatchdogWheel', () => {
  it('fires once for the silent entry only, and stops its timer when nothing is armed', async () => {
    const wheel = new WatchdogWheel();
    const fired: string[] = [];
    const quiet = wheel.watch(() => fired.push('quiet'));
    const busy = wheel.watch(() => fired.push('busy'));
    quiet.arm(120);
    busy.arm(120);
    const keepAlive = setInterval(() => busy.touch(), 20);
    await settle(400);
    clearInterval(keepAlive);
    expect(fired).toEqual(['quiet']);
    expect(wheel.size).toBe(1);
    busy.disarm();
    expect(wheel.size).toBe(0);
  });
});
