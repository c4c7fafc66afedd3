import type { Config } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import { createDeliveryEngine, type DeliveryEngine } from '../../deliver/engine.js';
import type { Executor } from '../../deliver/types.js';
import { createWebhookExecutor } from '../../deliver/webhook/executor.js';
import { createWorkflowExecutor, type WorkflowRegistry } from '../../deliver/workflows/index.js';
import type { Metrics } from '../../observability/metrics.js';
import type { KafkaAndState } from './kafka-state.js';
import { tracedExecutors } from '../../observability/tracing.js';
import type { Sources } from './sources.js';

export interface Delivery {
  workflowExecutor: Executor<'workflow'>;
  delivery: DeliveryEngine;
}

/** Delivery (src/deliver): one executor per destination type. */
export function wireDelivery(config: Readonly<Config>, logger: Logger, metrics: Metrics, k: KafkaAndState, s: Sources, workflows: WorkflowRegistry): Delivery {
  const { kafka, topics: t, store, box } = k;
  const workflowExecutor = createWorkflowExecutor({
    registry: workflows,
    salesforce: s.orgSessions,
    logger: logger.child({ component: 'workflows' }),
  });
  const delivery = createDeliveryEngine(
    { prefix: config.kafka.topicPrefix, dispatcher: { retrySchedule: [...config.retrySchedule] } },
    {
      kafka,
      topics: t,
      store,
      logger,
      metrics,
      executors: tracedExecutors({
        webhook: createWebhookExecutor({ allowPrivateNetworks: config.allowPrivateNetworks }, { box }),
        workflow: workflowExecutor,
      }),
    },
  );
  return { workflowExecutor, delivery };
}
