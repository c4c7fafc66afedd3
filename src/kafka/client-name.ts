import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

/** The client libraries that implement the Kafka port, each in its own folder. */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

export const DEFAULT_KAFKA_CLIENT: KafkaClientName = 'platformatic';

export const KafkaClientNameSchema = z
  .enum(KAFKA_CLIENTS)
  .default(DEFAULT_KAFKA_CLIENT)
  .describe('which Kafka client library implements the port (FORCEHOOK_KAFKA_CLIENT)');

/** FORCEHOOK_KAFKA_CLIENT, for commands without the service's configuration (bench, the consumer library). */
export function kafkaClientFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaClientName {
  const parsed = KafkaClientNameSchema.safeParse(env.FORCEHOOK_KAFKA_CLIENT || undefined);
  if (!parsed.success) throw new ConfigError('FORCEHOOK_KAFKA_CLIENT', `expected one of ${KAFKA_CLIENTS.join(', ')}`);
  return parsed.data;
}
