export * from './schema.js';
export { cdcEventId, rowEventId, rowVersion, type CdcIdFacts, type RowIdFacts } from './id.js';
export { isSalesforceId, sameSalesforceId, toId18 } from './salesforce-id.js';
export { eventJsonSchema, eventJsonSchemaText, EVENT_SCHEMA_ID } from './json-schema.js';
