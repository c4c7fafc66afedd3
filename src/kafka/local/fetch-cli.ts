// `npm run kafka:fetch`: downloads the broker jars into the cache so that CI (or an
// offline laptop later) never pays for it inside a test run.
import { createLogger } from '../../core/log.js';
import { ensureKafkaJars } from './jars.js';

const logger = createLogger({ name: 'kafka-fetch' });
const started = Date.now();
try {
  const lib = await ensureKafkaJars({ logger });
  logger.info({ lib, ms: Date.now() - started }, 'Kafka jars ready');
} catch (err) {
  logger.error({ err }, 'fetching Kafka jars failed');
  process.exitCode = 1;
}
