export { startLocalKafka, type LocalKafka, type LocalKafkaOptions } from './local-kafka.js';
export { ensureKafkaJars } from './jars.js';
export { KAFKA_VERSION, kafkaCacheDir } from './paths.js';
