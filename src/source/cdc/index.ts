/**
 * The CDC subscriber of one org: one CometD client (faye) carrying every channel with our own
 * replay extension, or (transport `pubsub`) one Pub/Sub API channel with a Subscribe stream per
 * channel; either way checkpoints only after `handle` (Kafka) acknowledged, gap detection, token
 * refresh and a watchdog. See subscriber.ts for the lifecycle.
 */
export { createCdcSubscriber, DEFAULT_MAX_BATCH, DEFAULT_MAX_BUFFERED, DEFAULT_RETRY } from './subscriber.js';
export { CDC_TRANSITIONS } from './states.js';
export type { CdcMessage, CdcPosition, CdcSession, CdcState, CdcStateInfo, CdcSubscriber, CdcSubscriberOptions, CdcTransport } from './types.js';
