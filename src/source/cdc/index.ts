/**
 * The CDC subscriber of one org: one CometD client (faye) carrying every channel, our
 * own replay extension, checkpoints only after `handle` (Kafka) acknowledged, gap
 * detection, token refresh and a watchdog. See subscriber.ts for the lifecycle.
 */
export { createCdcSubscriber, DEFAULT_MAX_BATCH, DEFAULT_MAX_BUFFERED, DEFAULT_RETRY } from './subscriber.js';
export { CDC_TRANSITIONS } from './states.js';
export type { CdcMessage, CdcPosition, CdcSession, CdcState, CdcStateInfo, CdcSubscriber, CdcSubscriberOptions, CdcTransport } from './types.js';
