import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { readCaFile, type KafkaSecurity } from '../security.js';
import type { Logger } from '../../core/log.js';
import type { KafkaClient } from '../types.js';
import { createKafkajsAdmin } from './admin.js';
import { createKafkajsConsumer } from './consumer.js';
import { pinoLogCreator } from './log.js';
import { createKafkajsProducer } from './producer.js';
import { openHandles } from '../handles.js';

export interface KafkajsClientOptions {
  /** host:port bootstrap servers. */
  brokers: string[];
  clientId: string;
  logger: Logger;
  security?: KafkaSecurity;
}

/** kafkajs's TLS and SASL options for our security settings (the bench's raw kafkajs baseline uses them too). */
export function kafkajsSecurity(s: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (!s) return {};
  return {
    ...(s.ssl ? { ssl: s.sslCaFile ? { ca: [readCaFile(s.sslCaFile)] } : true } : {}),
    ...(s.sasl ? { sasl: s.sasl as SASLOptions } : {}),
  };
}

export function createKafkajsClient(opts: KafkajsClientOptions): KafkaClient {
  const logger = opts.logger.child({ component: 'kafka' });
  const common = {
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger),
    ...kafkajsSecurity(opts.security),
  };
  const kafka = new Kafka(common);
  const pingKafka = new Kafka({ ...common, connectionTimeout: 1_000, requestTimeout: 2_000, retry: { retries: 0 } });

  const { track, closeAll } = openHandles();

  return {
    producer: (producerOpts = {}) => track((untrack) => createKafkajsProducer(kafka, producerOpts, logger, untrack)),
    consumer: (groupId, consumerOpts = {}) =>
      track((untrack) => {
        const c = createKafkajsConsumer(kafka, groupId, consumerOpts, logger, untrack);
        return Object.assign(c, { close: () => c.stop() });
      }),
    admin: () => track((untrack) => createKafkajsAdmin(kafka, pingKafka, logger, untrack)),
    close: closeAll,
  };
}
