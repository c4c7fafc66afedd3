import { describe, expect, it } from 'vitest';
import { DEFAULT_KAFKA_CLIENT, KafkaConfigSchema } from './index.js';
import { delayLabel, topics, topicSpecs, TOPIC_NAME } from './topics.js';

describe('topics', () => {
  it('derives every name from the prefix', () => {
    const t = topics('acme');
    expect([t.events, t.state, t.checkpoints, t.deliveries, t.dlq, t.retry(300_000)]).toEqual([
      'acme.events',
      'acme.state',
      'acme.checkpoints',
      'acme.deliveries',
      'acme.dlq',
      'acme.retry.5m',
    ]);
  });

  it('labels delays by their largest whole unit', () => {
    expect([5_000, 300_000, 1_800_000, 7_200_000, 36_000_000, 1_500].map(delayLabel)).toEqual(['5s', '5m', '30m', '2h', '10h', '1500ms']);
  });

  it('specs: state topics compacted, one retry topic per distinct delay kept at least twice as long', () => {
    const specs = topicSpecs(topics('p'), [5_000, 86_400_000, 86_400_000]);
    expect(specs.filter((s) => s.compacted).map((s) => s.topic)).toEqual(['p.state', 'p.checkpoints']);
    const retry = specs.filter((s) => s.topic.startsWith('p.retry.'));
    expect(retry.map((s) => [s.topic, s.retentionMs])).toEqual([
      ['p.retry.5s', 86_400_000],
      ['p.retry.24h', 172_800_000],
    ]);
    for (const s of specs) expect(s.topic).toMatch(TOPIC_NAME);
  });
});

describe('KafkaConfigSchema', () => {
  it('accepts the env form and fills defaults', () => {
    expect(KafkaConfigSchema.parse({ brokers: '127.0.0.1:9092, 10.0.0.2:9093' })).toEqual({
      brokers: ['127.0.0.1:9092', '10.0.0.2:9093'],
      clientId: 'forcehook',
      topicPrefix: 'forcehook',
      client: DEFAULT_KAFKA_CLIENT,
      ssl: false,
    });
  });

  it('names what is wrong', () => {
    const r = KafkaConfigSchema.safeParse({ brokers: ['localhost'], topicPrefix: 'a b' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['brokers.0', 'topicPrefix']);
  });
});
