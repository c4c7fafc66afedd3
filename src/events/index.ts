export * from './schema.js';
export { eventId, type EventIdInput } from './id.js';
export { isSalesforceId, sameSalesforceId, toId18 } from './salesforce-id.js';
export { eventJsonSchema, eventJsonSchemaText, EVENT_SCHEMA_ID } from './json-schema.js';
