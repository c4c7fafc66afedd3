import { readCaFile, type KafkaSecurity } from '../security.js';
import type { Logger } from '../../core/log.js';
import type { KafkaClient } from '../types.js';
import { createPlatformaticAdmin } from './admin.js';
import { createPlatformaticConsumer } from './consumer.js';
import { createPlatformaticProducer, type PltBaseOptions } from './producer.js';
import { openHandles } from '../handles.js';

export interface PlatformaticClientOptions {
  /** host:port bootstrap servers. */
  brokers: string[];
  clientId: string;
  logger: Logger;
  security?: KafkaSecurity;
}

const SASL_MECHANISM = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** @platformatic/kafka's connection options for our settings (the bench's raw baseline uses them too). */
export function platformaticBaseOptions(brokers: string[], clientId: string, s: KafkaSecurity | undefined): PltBaseOptions {
  return {
    clientId,
    bootstrapBrokers: brokers,
    ...(s?.ssl ? { tls: s.sslCaFile ? { ca: [readCaFile(s.sslCaFile)] } : {} } : {}),
    ...(s?.sasl ? { sasl: { mechanism: SASL_MECHANISM[s.sasl.mechanism], username: s.sasl.username, password: s.sasl.password } } : {}),
  };
}

export function createPlatformaticClient(opts: PlatformaticClientOptions): KafkaClient {
  const logger = opts.logger.child({ component: 'kafka' });
  const base = platformaticBaseOptions(opts.brokers, opts.clientId, opts.security);

  const { track, closeAll } = openHandles();

  return {
    producer: (producerOpts = {}) => track((untrack) => createPlatformaticProducer(base, producerOpts, logger, untrack)),
    consumer: (groupId, consumerOpts = {}) =>
      track((untrack) => {
        const c = createPlatformaticConsumer(base, groupId, consumerOpts, logger, untrack);
        return Object.assign(c, { close: () => c.stop() });
      }),
    admin: () => track((untrack) => createPlatformaticAdmin(base, logger, untrack)),
    close: closeAll,
  };
}
