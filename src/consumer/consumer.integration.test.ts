/**
 * createEventConsumer against the run's real broker: events are produced the
 * way the publisher produces them (toKafkaMessage), so the consumer sees
 * exactly the wire format of `<prefix>.events`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../core/log.js';
import { forcehookEventSchema, type ForcehookEvent, type Trigger } from '../events/schema.js';
import { createKafka, topics } from '../kafka/index.js';
import type { KafkaClient } from '../kafka/types.js';
import { toKafkaMessage } from '../publish/message.js';
import { hasTestBrokers, testBrokers, uniquePrefix } from '../../testkit/kafka/brokers.js';
import { createEventConsumer, type EventConsumer, type EventMeta } from './index.js';

const ORG = '00D000000000001AAA';
let n = 0;
function ev(trigger: Trigger, object = 'Lead'): ForcehookEvent {
  n++;
  const recordId = `00Q0000000000${String(n).padStart(2, '0')}AAA`;
  const changeType = trigger === 'record.updated' ? 'UPDATE' : trigger === 'record.deleted' ? 'DELETE' : 'CREATE';
  return {
    specversion: '1.0',
    id: `2f1c6a0e-5b0a-4c55-9d7e-0d7a5f0e9b${String(n).padStart(2, '0')}`,
    source: `/salesforce/${ORG}`,
    type: `salesforce.${trigger}`,
    subject: recordId,
    time: new Date(1_900_000_000_000 + n).toISOString(),
    datacontenttype: 'application/json',
    data: {
      orgId: ORG,
      connectionId: 'c1',
      object,
      recordId,
      changeType,
      changedFields: [],
      record: { Name: `r${n}` },
      detectedBy: 'cdc',
      commitTimestamp: 1_900_000_000_000 + n,
    },
  };
}

async function until(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!hasTestBrokers())('createEventConsumer', () => {
  let kafka: KafkaClient;
  let prefix: string;
  const consumers: EventConsumer[] = [];
  const send = (...events: ForcehookEvent[]) => kafka.producer().send(topics(prefix).events, events.map(toKafkaMessage));

  beforeAll(async () => {
    kafka = createKafka({ brokers: testBrokers(), clientId: 'consumer-test', logger: testLogger() });
    prefix = uniquePrefix('consumer');
    await kafka.admin().ensureTopics([{ topic: topics(prefix).events, partitions: 2 }]);
  });
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    await kafka.close();
  });

  function start(groupId: string, handler: (e: ForcehookEvent, m: EventMeta) => void | Promise<void>, invalid: string[] = []) {
    return createEventConsumer({
      brokers: testBrokers(),
      groupId,
      topicPrefix: prefix,
      types: ['record.created', 'salesforce.record.deleted'],
      fromBeginning: true,
      retry: { initialDelayMs: 50, maxDelayMs: 200 },
      handler,
      onInvalid: (reason) => invalid.push(reason),
      logger: testLogger(),
    }).then((c) => (consumers.push(c), c));
  }

  it('hands over only the selected types, parsed and valid; commits after the handler; retries a throwing handler', async () => {
    const created = ev('record.created');
    const updated = ev('record.updated');
    const deleted = ev('record.deleted', 'Account');
    const flaky = ev('record.created');
    await send(created, updated, deleted, flaky);
    // Not an event of ours: reported and skipped, never handed to the handler.
    await kafka.producer().send(topics(prefix).events, [
      {
        key: `${ORG}:x`,
        value: Buffer.from('{"orgId":1}'),
        headers: { ce_specversion: '1.0', ce_id: 'x', ce_source: '/x', ce_type: 'salesforce.record.created', 'content-type': 'application/json' },
      },
    ]);

    const group = uniquePrefix('group');
    const got: { event: ForcehookEvent; meta: EventMeta }[] = [];
    const invalid: string[] = [];
    let flakyCalls = 0;
    const c = await start(
      group,
      (event, meta) => {
        if (event.id === flaky.id && ++flakyCalls <= 2) throw new Error(`not yet (${flakyCalls})`);
        got.push({ event, meta });
      },
      invalid,
    );
    await until(() => got.length === 3 && invalid.length === 1, 30_000, 'three events');

    expect(got.map((g) => g.event.id).sort()).toEqual([created.id, deleted.id, flaky.id].sort());
    for (const { event, meta } of got) {
      expect(forcehookEventSchema.safeParse(event).success).toBe(true);
      expect(meta.key).toBe(`${ORG}:${event.subject}`);
      expect(meta.topic).toBe(`${prefix}.events`);
    }
    expect(got.find((g) => g.event.id === created.id)!.event).toEqual(created);
    expect(flakyCalls).toBe(3);
    expect(got.find((g) => g.event.id === flaky.id)!.meta.attempt).toBe(3);
    expect(invalid[0]).toMatch(/^invalid event: /);
    await c.stop();

    // Everything above was committed: the same group only sees what came after.
    const later = ev('record.deleted');
    await send(later);
    const again: ForcehookEvent[] = [];
    const c2 = await start(group, (e) => void again.push(e));
    await until(() => again.length === 1, 30_000, 'the later event');
    await new Promise((r) => setTimeout(r, 500));
    expect(again.map((e) => e.id)).toEqual([later.id]);
    await c2.stop();
  }, 90_000);

  it('a handler that keeps failing leaves its offset uncommitted: after a restart it sees the event again', async () => {
    const poison = ev('record.created');
    await send(poison);
    const group = uniquePrefix('group-fail');
    let calls = 0;
    const c = await start(group, (e) => {
      if (e.id === poison.id) {
        calls++;
        throw new Error('downstream is down');
      }
    });
    await until(() => calls >= 2, 30_000, 'retries');
    await c.stop();

    const seen: { id: string; attempt: number }[] = [];
    const c2 = await start(group, (e, meta) => void seen.push({ id: e.id, attempt: meta.attempt }));
    await until(() => seen.some((s) => s.id === poison.id), 30_000, 'the failed event again');
    // First attempt of this process: the attempt count is per process, the event id is what to dedupe on.
    expect(seen.find((s) => s.id === poison.id)!.attempt).toBe(1);
    await c2.stop();
  }, 90_000);
});
