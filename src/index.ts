/**
 * forcehook as a library: what TypeScript users import to read forcehook's
 * events from Kafka and to write in-process workflows. The service itself
 * starts from src/cli/main.ts; nothing here starts anything on import.
 */
export { createEventConsumer, decodeEvent, type Decoded, type EventConsumer, type EventConsumerOptions, type EventMeta } from './consumer/index.js';
export { defineWorkflow, isWorkflow, type Workflow, type WorkflowContext, type WorkflowDefinition } from './deliver/workflows/define.js';
export {
  EVENT_TYPES,
  TRIGGERS,
  eventTypeFor,
  forcehookEventSchema,
  triggerOf,
  type ChangeType,
  type DetectedBy,
  type EventType,
  type ForcehookEvent,
  type ForcehookEventData,
  type Trigger,
} from './events/schema.js';
export { fromKafkaMessage, eventKey } from './publish/message.js';
export { ForcehookError, TerminalError, TransientError } from './core/errors.js';
