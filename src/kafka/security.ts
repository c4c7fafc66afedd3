import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';

/**
 * How a client reaches brokers that require TLS and/or SASL, as managed Kafka
 * services do (Confluent Cloud, MSK, Aiven, Redpanda Cloud). One schema for the
 * service's configuration, the bench and the consumer library, which all read
 * the same environment variables (`KAFKA_SSL`, `KAFKA_SSL_CA_FILE`, `KAFKA_SASL_*`).
 */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

export const KafkaSecuritySchema = z.object({
  ssl: bool.default(false).describe('TLS to the brokers (KAFKA_SSL)'),
  sslCaFile: z.string().min(1).optional().describe("a PEM file of the CA to trust instead of the system's (KAFKA_SSL_CA_FILE)"),
  sasl: z
    .object({
      mechanism: z.enum(SASL_MECHANISMS).describe('KAFKA_SASL_MECHANISM'),
      username: z.string().min(1, 'required with KAFKA_SASL_MECHANISM').describe('KAFKA_SASL_USERNAME'),
      password: z.string().min(1, 'required with KAFKA_SASL_MECHANISM').describe('KAFKA_SASL_PASSWORD'),
    })
    .strict()
    .optional(),
});
export type KafkaSecurity = z.output<typeof KafkaSecuritySchema>;

/** The environment variables of the security settings, by path in `KafkaSecurity`. */
export const KAFKA_SECURITY_ENV: Readonly<Record<string, readonly string[]>> = {
  KAFKA_SSL: ['ssl'],
  KAFKA_SSL_CA_FILE: ['sslCaFile'],
  KAFKA_SASL_MECHANISM: ['sasl', 'mechanism'],
  KAFKA_SASL_USERNAME: ['sasl', 'username'],
  KAFKA_SASL_PASSWORD: ['sasl', 'password'],
};

/**
 * The security settings from the environment, for commands without the
 * service's configuration (bench, the consumer library). A bad one is a
 * ConfigError naming the variable.
 */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const raw: Record<string, unknown> = {};
  const sasl: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(KAFKA_SECURITY_ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (path[0] === 'sasl') sasl[path[1]!] = v;
    else raw[path[0]!] = v;
  }
  if (Object.keys(sasl).length) raw.sasl = sasl;
  const parsed = KafkaSecuritySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const dotted = issue.path.join('.');
    const name = Object.entries(KAFKA_SECURITY_ENV).find(([, p]) => p.join('.') === dotted)?.[0] ?? (dotted === 'sasl' ? 'KAFKA_SASL_MECHANISM' : dotted);
    throw new ConfigError(name, issue.message);
  }
  return parsed.data;
}

/** The CA file's PEM, read once at start: a missing or unreadable file is a ConfigError naming the setting. */
export function readCaFile(path: string, setting = 'KAFKA_SSL_CA_FILE'): string {
  try {
    const pem = readFileSync(path, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
    return pem;
  } catch (err) {
    throw new ConfigError(setting, `cannot use ${path}: ${(err as Error).message}`);
  }
}
