/**
 * The emulator's Streaming API: a CometD long-polling server with Salesforce's replay
 * extension, advice and error strings, and the per-org event bus
 * the data layer publishes change events to.
 */
export {
  EventBus,
  changeEventChannel,
  channelReceives,
  isEntityChangeChannel,
  schemaIdFor,
  ALL_CHANGE_EVENTS,
  DEFAULT_RETENTION_MS,
  DEFAULT_MAX_RETAINED,
  type StreamEvent,
  type BusListener,
} from './bus.js';
export { createCometdServer, parseCookies, type CometdServer, type CometdServerOptions, type StreamingAuth, type OrgStreamingLimits } from './server.js';
export * as streamingErrors from './errors.js';
