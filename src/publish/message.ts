import { type CloudEvent, Kafka } from 'cloudevents';
import type { ForcehookEvent } from '../events/schema.js';
import type { KafkaMessage } from '../kafka/types.js';

/** Per-record order: every change of one record lands on one partition. */
export function eventKey(event: ForcehookEvent): string {
  return `${event.data.orgId}:${event.data.recordId}`;
}

/**
 * The CloudEvents Kafka protocol binding, binary mode (spec §3.2): every
 * attribute but `data` as a `ce_<name>` header (the `partitionkey` extension
 * included), `content-type` = `datacontenttype`, the value is the `data` JSON.
 *
 * Built directly rather than through the SDK's `new CloudEvent` + `Kafka.binary`:
 * on the publish path those cost 2–4% of a saturated event loop (a frozen
 * object, attribute copies, then the headers). The SDK stays the reference:
 * `message.test.ts` checks that this equals what the SDK builds, header for
 * header and byte for byte, and that the SDK (`fromKafkaMessage`) parses it back.
 */
export function toKafkaMessage(event: ForcehookEvent): KafkaMessage {
  const key = eventKey(event);
  // One spelling on the wire: `content-type` (the SDK's name for it).
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const name in event) {
    if (name === 'data') continue;
    const v = (event as unknown as Record<string, unknown>)[name];
    if (v !== undefined && v !== null) headers[`ce_${name}`] = String(v);
  }
  headers.ce_partitionkey = key;
  return { key, value: Buffer.from(JSON.stringify(event.data)), headers };
}

/** The inverse, for consumers and tests: a Kafka message back into our event. */
export function fromKafkaMessage(msg: { key: string | null; value: Buffer | null; headers: Record<string, string> }): CloudEvent<unknown> {
  const received = Kafka.toEvent({
    key: msg.key ?? undefined,
    value: msg.value ?? undefined,
    headers: msg.headers,
    body: msg.value ?? undefined,
  } as unknown as Parameters<typeof Kafka.toEvent>[0]);
  return (Array.isArray(received) ? received[0] : received) as CloudEvent<unknown>;
}
