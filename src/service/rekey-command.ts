import { loadConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { SecretBox } from '../core/secrets.js';
import { createKafka } from '../kafka/index.js';
import { topics } from '../kafka/topics.js';
import { hasStaleSeals } from '../state/reseal.js';
import { ServiceStore } from '../state/store.js';

/**
 * `forcehook rekey`: after FORCEHOOK_SECRET_KEY was rotated, says whether every
 * sealed value in the state topic is under the current key, i.e. whether the
 * old key can be dropped from FORCEHOOK_SECRET_KEY_PREVIOUS. It only reads: the
 * instance that follows each org re-seals it (src/salesforce/tokens.ts), after its
 * own token refreshes, which an outside writer could not be ordered with.
 * Exit 0 when nothing is left to re-seal, 1 otherwise.
 */
export async function runRekeyCommand(argv: string[]): Promise<number> {
  if (argv.length > 0) throw new Error(`--: rekey takes no arguments (configure it like serve), got '${argv.join(' ')}'`);
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'debug' ? 'debug' : 'warn' });
  const box = SecretBox.fromBase64(config.secretKey, ...config.secretKeyPrevious);
  const { brokers, clientId, client, ssl, sslCaFile, sasl } = config.kafka;
  const kafka = createKafka({
    brokers: [...brokers],
    clientId,
    client,
    logger,
    ssl,
    ...(sslCaFile ? { sslCaFile } : {}),
    ...(sasl ? { sasl: { ...sasl } } : {}),
  });
  const t = topics(config.kafka.topicPrefix);
  const store = new ServiceStore({ client: kafka, stateTopic: t.state, checkpointTopic: t.checkpoints, logger });
  try {
    await store.start();
    const connections = store
      .connections()
      .filter((c) => hasStaleSeals(box, c))
      .map((c) => c.id);
    const subscriptions = store
      .subscriptions()
      .filter((s) => hasStaleSeals(box, s))
      .map((s) => s.id);
    const done = connections.length === 0 && subscriptions.length === 0;
    process.stdout.write(`${JSON.stringify({ event: 'rekey', done, stale: { connections, subscriptions } })}\n`);
    return done ? 0 : 1;
  } finally {
    await store.stop().catch(() => undefined);
    await kafka.close().catch(() => undefined);
  }
}
