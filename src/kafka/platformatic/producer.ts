import { compatibilityPartitioner, ProduceAcks, Producer as PltProducer, type ProducerOptions as PltProducerOptions } from '@platformatic/kafka';
import { ForcehookError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { chunkRequests, MAX_REQUEST_BYTES, requestBytes } from '../chunk.js';
import type { Producer, ProducerOptions, RecordMetadata, TopicMessages } from '../types.js';
import { guarded } from './errors.js';

export type PltBaseOptions = Omit<PltProducerOptions<Buffer, Buffer, Buffer, Buffer>, 'clientId'> & { clientId: string };

/** One platformatic producer, i.e. one producer id and its sequence numbers. */
interface Generation {
  producer: PltProducer;
  inFlight: number;
  retired: boolean;
}

/** The produce options the raw bench baseline uses too, so both measure the same thing. */
export const PLATFORMATIC_PRODUCE_OPTIONS = {
  idempotent: true,
  // An idempotent producer otherwise retries for ever, even a topic that does not
  // exist; 5 with the client's 1 s backoff is what kafkajs does, then the caller decides.
  retries: 5,
  // acks=-1: the broker answers once every in-sync replica has the batch.
  acks: ProduceAcks.ALL,
  // Java's partitioner ((murmur2 & 0x7fffffff) % n): the client's default takes the
  // hash unsigned, which puts some keys on another partition than kafkajs, librdkafka
  // and Java clients do, and would split a key's history across partitions.
  partitioner: compatibilityPartitioner,
} as const;

/**
 * Same failure rule as the kafkajs producer: a failed idempotent send may or may
 * not have been written, and the client would hand its sequence numbers to the
 * next send; so a failure retires the whole producer and the next send gets a new
 * producer id. A failed send can become a duplicate, never a loss.
 */
export function createPlatformaticProducer(base: PltBaseOptions, opts: ProducerOptions, logger: Logger, onClose: () => void): Producer {
  const make = (): Generation => ({
    producer: new PltProducer<Buffer, Buffer, Buffer, Buffer>({
      ...base,
      ...PLATFORMATIC_PRODUCE_OPTIONS,
      autocreateTopics: opts.allowAutoTopicCreation ?? false,
    }),
    inFlight: 0,
    retired: false,
  });
  let current = make();
  let closed = false;
  const waiting: { topicMessages: TopicMessages[]; bytes: number; resolve: (r: RecordMetadata[]) => void; reject: (err: unknown) => void }[] = [];
  let pumping = false;

  const closeWhenIdle = (g: Generation): void => {
    if (g.retired && g.inFlight === 0) g.producer.close().catch((err: unknown) => logger.warn({ err }, 'kafka producer close failed'));
  };

  const retire = (g: Generation): void => {
    if (g.retired) return;
    g.retired = true;
    if (current === g && !closed) current = make();
    closeWhenIdle(g);
  };

  const sendRequest = async (topicMessages: TopicMessages[]): Promise<RecordMetadata[]> => {
    if (closed) throw new ForcehookError('KAFKA', 'kafka producer is closed');
    const g = current;
    g.inFlight++;
    try {
      const res = await guarded('kafka produce', () =>
        g.producer.send({
          messages: topicMessages.flatMap((tm) =>
            tm.messages.map((m) => ({
              topic: tm.topic,
              ...(m.key === null ? {} : { key: Buffer.from(m.key) }),
              ...(m.value === null ? {} : { value: m.value }),
              headers: new Map(Object.entries(m.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
              ...(m.timestamp !== undefined ? { timestamp: BigInt(m.timestamp) } : {}),
            })),
          ),
        }),
      );
      return (res.offsets ?? []).map((o) => ({ topic: o.topic, partition: o.partition, baseOffset: o.offset.toString() }));
    } catch (err) {
      retire(g);
      throw err;
    } finally {
      g.inFlight--;
      closeWhenIdle(g);
    }
  };

  return {
    send: (topic, messages) => sendBatch([{ topic, messages }]),
    sendBatch,
    async close() {
      if (closed) return;
      closed = true;
      onClose();
      await guarded('kafka producer close', () => current.producer.close());
    },
  };

  /**
   * The client advances a partition's idempotence sequence only when a send
   * completes, so two sends in flight at once would carry the same sequence
   * numbers and the broker would refuse the second (OUT_OF_ORDER_SEQUENCE_NUMBER).
   * One request is therefore in flight at a time, as with kafkajs; sends that
   * arrive meanwhile wait and then share the next request (up to the request
   * size limit), in call order, so order holds and waiting callers cost one
   * round trip together instead of one each. If a shared request fails, every
   * caller in it gets the error: a retry can duplicate, never lose.
   */
  function sendBatch(topicMessages: TopicMessages[]): Promise<RecordMetadata[]> {
    if (topicMessages.every((tm) => tm.messages.length === 0)) return Promise.resolve([]);
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      waiting.push({ topicMessages, bytes: requestBytes(topicMessages), resolve, reject });
      void pump();
    });
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (waiting.length > 0) {
        const group = [waiting.shift()!];
        let bytes = group[0]!.bytes;
        while (waiting.length > 0 && bytes + waiting[0]!.bytes <= MAX_REQUEST_BYTES) {
          bytes += waiting[0]!.bytes;
          group.push(waiting.shift()!);
        }
        try {
          const out: RecordMetadata[] = [];
          for (const request of chunkRequests(group.flatMap((w) => w.topicMessages))) out.push(...(await sendRequest(request)));
          for (const w of group) {
            const mine = new Set(w.topicMessages.map((tm) => tm.topic));
            w.resolve(out.filter((r) => mine.has(r.topic)));
          }
        } catch (err) {
          for (const w of group) w.reject(err);
        }
      }
    } finally {
      pumping = false;
    }
  }
}
