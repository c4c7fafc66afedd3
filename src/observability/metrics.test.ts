import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

async function names(): Promise<string[]> {
  const metrics = createMetrics();
  const text = await metrics.registry.metrics();
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
}

describe('metric names', () => {
  it("Node's process metrics keep their standard names, so off-the-shelf dashboards find them", async () => {
    const all = await names();
    for (const n of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(all).toContain(n);
    }
  });

  it("forcehook's own metrics carry the forcehook_ prefix; nothing else does", async () => {
    const all = await names();
    const standard = all.filter((n) => n.startsWith('process_') || n.startsWith('nodejs_'));
    const own = all.filter((n) => !standard.includes(n));
    expect(own.length).toBeGreaterThan(10);
    for (const n of own) expect(n).toMatch(/^forcehook_/);
    for (const n of standard) expect(n).not.toMatch(/forcehook/);
  });
});
