import type { KafkaMessage, TopicMessages } from './types.js';

/**
 * Largest produce request we build. The broker refuses a record batch above
 * `message.max.bytes` (1 MiB by default) with MESSAGE_TOO_LARGE, and a caller
 * retrying the same oversized batch would stall for ever; so requests are cut
 * well below it, whatever the caller hands us.
 */
export const MAX_REQUEST_BYTES = 768 * 1024;
/** Per-record overhead of the v2 record format (varints, attributes, header framing), rounded up. */
const RECORD_OVERHEAD = 64;

function approxSize(m: KafkaMessage): number {
  let n = RECORD_OVERHEAD + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [k, v] of Object.entries(m.headers)) n += k.length + v.length + 8;
  return n;
}

/** Approximate bytes of these messages in a produce request. */
export function requestBytes(topicMessages: TopicMessages[]): number {
  let n = 0;
  for (const tm of topicMessages) for (const m of tm.messages) n += approxSize(m);
  return n;
}

/** Splits into requests under MAX_REQUEST_BYTES, keeping message order (hence per-key order). */
export function chunkRequests(topicMessages: TopicMessages[], maxBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let size = 0;
  for (const tm of topicMessages) {
    let slice: KafkaMessage[] = [];
    for (const m of tm.messages) {
      const n = approxSize(m);
      if (size + n > maxBytes && size > 0) {
        if (slice.length) current.push({ topic: tm.topic, messages: slice });
        requests.push(current);
        current = [];
        slice = [];
        size = 0;
      }
      slice.push(m);
      size += n;
    }
    if (slice.length) current.push({ topic: tm.topic, messages: slice });
  }
  if (current.length) requests.push(current);
  return requests;
}
