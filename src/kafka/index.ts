import { z } from 'zod';
import { commaList } from '../core/comma-list.js';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { createKafkajsClient } from './kafkajs/client.js';
import { createPlatformaticClient } from './platformatic/client.js';
import { KafkaClientNameSchema } from './client-name.js';
import { KafkaSecuritySchema } from './security.js';
import { TOPIC_NAME } from './topics.js';
import type { KafkaClient } from './types.js';

export type * from './types.js';
export { nextOffset } from './types.js';
export { topics, topicSpecs, delayLabel, type Topics } from './topics.js';
export { CompactedStore, type CompactedStoreOptions } from './state-store.js';
export { KAFKA_CLIENTS, DEFAULT_KAFKA_CLIENT, KafkaClientNameSchema, kafkaClientFromEnv, type KafkaClientName } from './client-name.js';
export { kafkaSecurityFromEnv, KafkaSecuritySchema, KAFKA_SECURITY_ENV, type KafkaSecurity } from './security.js';

const hostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port');

export const KafkaConfigSchema = z
  .object({
    brokers: commaList(z.array(hostPort).min(1, 'at least one host:port'))
      .describe('bootstrap servers, host:port; a comma-separated string is accepted (KAFKA_BROKERS)')
      .meta({ examples: [['127.0.0.1:9092']] }),
    clientId: z.string().min(1).default('forcehook').describe('client id the brokers see in their logs and quotas'),
    topicPrefix: z
      .string()
      // room for the longest suffix topics() appends (".retry.<delay>")
      .regex(TOPIC_NAME, 'letters, digits, . _ - only')
      .max(200)
      .default('forcehook')
      .describe('prefix of every topic the service creates (FORCEHOOK_TOPIC_PREFIX)'),
    client: KafkaClientNameSchema,
  })
  .extend(KafkaSecuritySchema.shape)
  .strict();

export type KafkaConfig = z.output<typeof KafkaConfigSchema>;
export type KafkaConfigInput = z.input<typeof KafkaConfigSchema>;

/**
 * The one place that picks a client library. Config errors name the setting,
 * e.g. "kafka.brokers: expected host:port".
 */
export function createKafka(config: KafkaConfigInput & { logger?: Logger }): KafkaClient {
  const { logger = createLogger({ name: 'forcehook' }), ...raw } = config;
  const parsed = KafkaConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(['kafka', ...(issue?.path ?? [])].join('.'), issue?.message ?? 'invalid');
  }
  const common = {
    brokers: parsed.data.brokers,
    clientId: parsed.data.clientId,
    logger,
    security: {
      ssl: parsed.data.ssl,
      ...(parsed.data.sslCaFile ? { sslCaFile: parsed.data.sslCaFile } : {}),
      ...(parsed.data.sasl ? { sasl: parsed.data.sasl } : {}),
    },
  };
  switch (parsed.data.client) {
    case 'kafkajs':
      return createKafkajsClient(common);
    case 'platformatic':
      return createPlatformaticClient(common);
  }
}
