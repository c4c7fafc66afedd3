/**
 * The publisher on the in-memory Kafka port: a caller's promise resolves only once Kafka acknowledged its
 * events (the caller checkpoints the Salesforce position after that, never before), a failed request fails
 * every caller in it, and callers queued meanwhile share the next request, in order.
 */
import { describe, expect, it } from 'vitest';
import type { ForcehookEvent } from '../events/schema.js';
import type { KafkaMessage, Producer, RecordMetadata } from '../kafka/types.js';
import { MemoryKafka } from '../../testkit/kafka/memory.js';
import { fromKafkaMessage } from './message.js';
import { createPublisher } from './publisher.js';

const TOPIC = 'p.events';

function event(n: number): ForcehookEvent {
  const recordId = `00Q0000000000${String(n).padStart(2, '0')}AAA`;
  return {
    specversion: '1.0',
    id: `id-${n}`,
    source: '/salesforce/00D000000000001AAA',
    type: 'salesforce.record.created',
    subject: recordId,
    time: '2030-01-01T00:00:00.000Z',
    datacontenttype: 'application/json',
    data: {
      orgId: '00D000000000001AAA',
      connectionId: 'c1',
      object: 'Lead',
      recordId,
      changeType: 'CREATE',
      changedFields: [],
      record: { Id: recordId },
      detectedBy: 'cdc',
      commitTimestamp: 1,
    },
  };
}

/** The memory broker's producer, with each produce request held until the test acknowledges or fails it. */
function heldProducer(kafka: MemoryKafka) {
  const inner = kafka.producer();
  const requests: { messages: KafkaMessage[]; ack(): void; fail(err: Error): void }[] = [];
  const producer: Producer = {
    send: (topic, messages) =>
      new Promise<RecordMetadata[]>((resolve, reject) => {
        requests.push({ messages, ack: () => void inner.send(topic, messages).then(resolve, reject), fail: reject });
      }),
    sendBatch: inner.sendBatch,
    close: inner.close,
  };
  return { producer, requests };
}

const ids = (kafka: MemoryKafka) => kafka.messages(TOPIC).map((m) => fromKafkaMessage(m).id);
const tick = () => new Promise((r) => setImmediate(r));

describe('publisher', () => {
  it('resolves only once Kafka acknowledged the events: a caller never checkpoints ahead of Kafka', async () => {
    const kafka = new MemoryKafka();
    kafka.createTopic(TOPIC);
    const { producer, requests } = heldProducer(kafka);
    const publisher = createPublisher({ topic: TOPIC }, { producer });
    let checkpointed = false;
    const done = publisher.publish([event(1), event(2)]).then(() => {
      // What the source does after publish: checkpoint. The events must be on the topic by then.
      expect(ids(kafka)).toEqual(['id-1', 'id-2']);
      checkpointed = true;
    });
    await tick();
    expect(requests).toHaveLength(1);
    expect(checkpointed).toBe(false);
    requests[0]!.ack();
    await done;
    expect(checkpointed).toBe(true);
  });

  it('a failed request rejects every caller in it, and nothing of theirs was acknowledged; the next publish goes on', async () => {
    const kafka = new MemoryKafka();
    kafka.createTopic(TOPIC);
    const { producer, requests } = heldProducer(kafka);
    const publisher = createPublisher({ topic: TOPIC }, { producer });
    const first = publisher.publish([event(1)]);
    await tick();
    // Queued behind the request in flight: they share the next one.
    const second = publisher.publish([event(2)]);
    const third = publisher.publish([event(3)]);
    const outcomes = Promise.allSettled([second, third]);
    requests[0]!.ack();
    await first;
    await tick();
    expect(requests).toHaveLength(2);
    expect(requests[1]!.messages).toHaveLength(2);
    requests[1]!.fail(new Error('NOT_ENOUGH_REPLICAS'));
    expect((await outcomes).map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(ids(kafka)).toEqual(['id-1']);
    const fourth = publisher.publish([event(4)]);
    await tick();
    requests[2]!.ack();
    await fourth;
    expect(ids(kafka)).toEqual(['id-1', 'id-4']);
  });

  it('one request in flight; callers queued meanwhile go out in order, split at maxBatch', async () => {
    const kafka = new MemoryKafka();
    kafka.createTopic(TOPIC);
    const { producer, requests } = heldProducer(kafka);
    const publisher = createPublisher({ topic: TOPIC, maxBatch: 3 }, { producer });
    const all = [publisher.publish([event(1)])];
    await tick();
    all.push(publisher.publish([event(2), event(3)]), publisher.publish([event(4)]), publisher.publish([event(5), event(6)]));
    for (let i = 0; i < 3; i++) {
      await tick();
      expect(requests).toHaveLength(i + 1);
      requests[i]!.ack();
    }
    await Promise.all(all);
    await publisher.flush();
    expect(requests.map((r) => r.messages.length)).toEqual([1, 3, 2]);
    expect(ids(kafka)).toEqual(['id-1', 'id-2', 'id-3', 'id-4', 'id-5', 'id-6']);
  });
});
