export { createEventConsumer, type EventConsumer, type EventConsumerOptions, type EventMeta } from './consumer.js';
export { decodeEvent, typeFilter, type Decoded } from './decode.js';
