import { Partitioners, type Kafka, type Message, type Producer as KjsProducer, type RecordMetadata as KjsRecordMetadata } from 'kafkajs';
import type { Logger } from '../../core/log.js';
import type { KafkaMessage, Producer, ProducerOptions, RecordMetadata, TopicMessages } from '../types.js';
import { ForcehookError } from '../../core/errors.js';
import { guarded } from './errors.js';
import { chunkRequests } from '../chunk.js';

export { chunkRequests, MAX_REQUEST_BYTES } from '../chunk.js';

function toKafkajs(m: KafkaMessage): Message {
  const out: Message = { key: m.key, value: m.value, headers: m.headers };
  if (m.timestamp !== undefined) out.timestamp = m.timestamp;
  return out;
}

function fromKafkajs(meta: KjsRecordMetadata[]): RecordMetadata[] {
  return meta.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: r.baseOffset ?? '-1' }));
}

/** One kafkajs producer, i.e. one producer id and its sequence numbers. */
interface Generation {
  producer: KjsProducer;
  connecting: Promise<void> | undefined;
  inFlight: number;
  retired: boolean;
}

function newGeneration(kafka: Kafka, opts: ProducerOptions): Generation {
  const producer = kafka.producer({
    // Explicit, so kafkajs does not print its v2 partitioner warning (it warns only
    // when none is given). The default is Java-compatible murmur2, so a key lands on
    // the same partition whichever client (or language) produced it.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    // kafkajs has no KAFKA-5494 sequence re-assignment: its idempotent path holds a
    // per-broker lock around each produce (eosManager.acquireBrokerLock) and rolls
    // sequences back on failure as if only one request were in flight. 1 matches
    // what it actually does (KIP-98) instead of promising a pipelining it lacks.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false,
    // Retries: kafkajs's own (5, backoff up to 30 s). Its "unbounded for idempotent"
    // default never applies through Kafka#producer, and passing a bound makes it
    // warn on every producer; the bound is what we want anyway, see `retire`.
  });
  return { producer, connecting: undefined, inFlight: 0, retired: false };
}

/**
 * An idempotent producer that failed a send may or may not have written it, and
 * kafkajs hands that batch's sequence numbers to the next one: if the broker had
 * written the first, it would take the second for a duplicate and drop it
 * silently. So a failed send retires the whole kafkajs producer; the next send
 * gets a new producer id. A failed send can thus become a duplicate, never a loss.
 */
export function createKafkajsProducer(kafka: Kafka, opts: ProducerOptions, logger: Logger, onClose: () => void): Producer {
  let current = newGeneration(kafka, opts);
  let closed = false;

  const disconnectWhenIdle = (g: Generation): void => {
    if (g.retired && g.inFlight === 0 && g.connecting) {
      g.connecting = undefined;
      g.producer.disconnect().catch((err: unknown) => logger.warn({ err }, 'kafka producer disconnect failed'));
    }
  };

  const retire = (g: Generation): void => {
    if (g.retired) return;
    g.retired = true;
    if (current === g && !closed) current = newGeneration(kafka, opts);
    disconnectWhenIdle(g);
  };

  const connected = (g: Generation): Promise<void> => {
    g.connecting ??= guarded('kafka producer connect', () => g.producer.connect()).catch((err: unknown) => {
      g.connecting = undefined; // the next send tries again
      throw err;
    });
    return g.connecting;
  };

  const sendRequest = async (topicMessages: TopicMessages[]): Promise<RecordMetadata[]> => {
    if (closed) throw new ForcehookError('KAFKA', 'kafka producer is closed');
    const g = current;
    g.inFlight++;
    try {
      await connected(g);
      const meta = await guarded('kafka produce', () =>
        g.producer.sendBatch({
          // acks=-1: the broker answers once every in-sync replica has the batch.
          acks: -1,
          // No compression: kafkajs ships only gzip, which costs CPU for small JSON
          // events, and lz4/snappy/zstd need codecs we do not install.
          topicMessages: topicMessages.map((tm) => ({ topic: tm.topic, messages: tm.messages.map(toKafkajs) })),
        }),
      );
      return fromKafkajs(meta);
    } catch (err) {
      if (g.connecting) retire(g);
      throw err;
    } finally {
      g.inFlight--;
      disconnectWhenIdle(g);
    }
  };

  const sendBatch = async (topicMessages: TopicMessages[]): Promise<RecordMetadata[]> => {
    if (topicMessages.every((tm) => tm.messages.length === 0)) return [];
    // Requests go one after the other: a later one never overtakes an earlier one,
    // and if one fails the caller's retry repeats at most what was already acked.
    const out: RecordMetadata[] = [];
    for (const request of chunkRequests(topicMessages)) out.push(...(await sendRequest(request)));
    return out;
  };

  return {
    send: (topic, messages) => sendBatch([{ topic, messages }]),
    sendBatch,
    async close() {
      if (closed) return;
      closed = true;
      onClose();
      const g = current;
      if (g.connecting) await guarded('kafka producer close', () => g.producer.disconnect());
    },
  };
}
