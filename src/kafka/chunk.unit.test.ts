import { describe, expect, it } from 'vitest';
import { chunkRequests } from './chunk.js';

const msg = (key: string, bytes: number) => ({ key, value: Buffer.alloc(bytes, 1), headers: { 'content-type': 'application/json' } });

describe('chunkRequests', () => {
  it('keeps a small batch in one request', () => {
    const r = chunkRequests([{ topic: 't', messages: [msg('a', 10), msg('b', 10)] }], 10_000);
    expect(r).toHaveLength(1);
    expect(r[0]![0]!.messages).toHaveLength(2);
  });

  it('splits by bytes, never above the cap except for a single oversized message, and keeps the order', () => {
    const messages = Array.from({ length: 50 }, (_, i) => msg(`k${i % 3}`, 1_000));
    const requests = chunkRequests([{ topic: 't', messages }], 5_000);
    expect(requests.length).toBeGreaterThan(10);
    const flat = requests.flatMap((r) => r.flatMap((tm) => tm.messages));
    expect(flat).toEqual(messages);
    for (const r of requests) {
      const bytes = r.flatMap((tm) => tm.messages).reduce((n, m) => n + (m.value?.length ?? 0), 0);
      expect(bytes).toBeLessThanOrEqual(5_000);
    }
    expect(chunkRequests([{ topic: 't', messages: [msg('big', 9_000)] }], 5_000)).toHaveLength(1);
  });

  it('spans topics', () => {
    const r = chunkRequests(
      [
        { topic: 'a', messages: [msg('x', 3_000)] },
        { topic: 'b', messages: [msg('y', 3_000)] },
      ],
      5_000,
    );
    expect(r.map((req) => req.map((tm) => tm.topic))).toEqual([['a'], ['b']]);
  });
});
