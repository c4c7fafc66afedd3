import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import { SecretBox } from '../../core/secrets.js';
import { createKafka } from '../../kafka/index.js';
import { topics, type Topics } from '../../kafka/topics.js';
import type { Admin, KafkaClient } from '../../kafka/types.js';
import { createSalesforceEgress, type SalesforceEgress } from '../../net/salesforce-egress.js';
import type { Metrics } from '../../observability/metrics.js';
import { createPublisher, type Publisher } from '../../publish/publisher.js';
import { ConnectionService } from '../../salesforce/connections.js';
import { ServiceStore } from '../../state/store.js';

/** Kafka and what lives on it: the topics, the state store, the events publisher; the sealing box and the Salesforce egress. */
export interface KafkaAndState {
  topics: Topics;
  kafka: KafkaClient;
  admin: Admin;
  box: SecretBox;
  egress: SalesforceEgress;
  store: ServiceStore;
  connections: ConnectionService;
  publisher: Publisher;
}

/** Opens nothing yet: clients connect on first use, so this costs nothing while Kafka is away. */
export function wireKafkaAndState(config: Readonly<Config>, logger: Logger, metrics: Metrics, instanceId: string | undefined): KafkaAndState {
  const t = topics(config.kafka.topicPrefix);
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
  const admin = kafka.admin();
  // The current key seals; previous ones (FORCEHOOK_SECRET_KEY_PREVIOUS) only open.
  const box = SecretBox.fromBase64(config.secretKey, ...config.secretKeyPrevious);
  const egress = createSalesforceEgress({ hosts: config.salesforceHosts, allowPrivate: config.allowPrivateNetworks });
  const store = new ServiceStore({ client: kafka, stateTopic: t.state, checkpointTopic: t.checkpoints, logger, ...(instanceId ? { instanceId } : {}) });
  const connections = new ConnectionService({ store, box, egress, logger });
  // The producer connects on first send, so creating it here costs nothing while Kafka is away.
  const publisher = createPublisher({ topic: t.events }, { producer: kafka.producer(), metrics, logger });
  return { topics: t, kafka, admin, box, egress, store, connections, publisher };
}
