import { Partitioners, type Kafka, type Message, type RecordMetadata as KjsRecordMetadata } from 'kafkajs';
import type { KafkaMessage, Producer, ProducerOptions, RecordMetadata, TopicMessages } from '../types.js';
import { guarded } from './errors.js';

function toKafkajs(m: KafkaMessage): Message {
  const out: Message = { key: m.key, value: m.value, headers: m.headers };
  if (m.timestamp !== undefined) out.timestamp = m.timestamp;
  return out;
}

function fromKafkajs(meta: KjsRecordMetadata[]): RecordMetadata[] {
  return meta.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: r.baseOffset ?? '-1' }));
}

export function createKafkajsProducer(kafka: Kafka, opts: ProducerOptions, onClose: () => void): Producer {
  const producer = kafka.producer({
    // Explicit, so kafkajs does not print its v2 partitioner warning (it warns only
    // when none is given). The default is Java-compatible murmur2, so a key lands on
    // the same partition whichever client (or language) produced it.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    // Retries stay kafkajs's idempotent default (unbounded, backoff capped at 30 s):
    // a send that gave up would leave its sequence numbers to the next batch, and
    // if the broker had in fact written the first one it would drop the second as
    // a duplicate. So during an outage send() waits instead of failing.
    // kafkajs has no KAFKA-5494 sequence re-assignment: its idempotent path holds a
    // per-broker lock around each produce (eosManager.acquireBrokerLock) and rolls
    // sequences back on failure as if only one request were in flight. 1 matches
    // what it actually does (KIP-98) instead of promising a pipelining it lacks.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false,
  });
  let connecting: Promise<void> | undefined;
  const connected = (): Promise<void> => {
    connecting ??= guarded('kafka producer connect', () => producer.connect()).catch((err: unknown) => {
      connecting = undefined; // the next send tries again
      throw err;
    });
    return connecting;
  };

  const sendBatch = async (topicMessages: TopicMessages[]): Promise<RecordMetadata[]> => {
    if (topicMessages.every((tm) => tm.messages.length === 0)) return [];
    await connected();
    const meta = await guarded('kafka produce', () =>
      producer.sendBatch({
        // acks=-1: the broker answers once every in-sync replica has the batch.
        acks: -1,
        // No compression: kafkajs ships only gzip, which costs CPU for small JSON
        // events, and lz4/snappy/zstd need codecs we do not install.
        topicMessages: topicMessages.map((tm) => ({ topic: tm.topic, messages: tm.messages.map(toKafkajs) })),
      }),
    );
    return fromKafkajs(meta);
  };

  return {
    send: (topic, messages) => sendBatch([{ topic, messages }]),
    sendBatch,
    async close() {
      onClose();
      if (connecting) await guarded('kafka producer close', () => producer.disconnect());
    },
  };
}
