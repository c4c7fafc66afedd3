import { CloudEvent, Kafka } from 'cloudevents';
import type { ForcehookEvent } from '../events/schema.js';
import type { KafkaMessage } from '../kafka/types.js';

/** Per-record order: every change of one record lands on one partition. */
export function eventKey(event: ForcehookEvent): string {
  return `${event.data.orgId}:${event.data.recordId}`;
}

/**
 * The CloudEvents Kafka protocol binding, binary mode: attributes as `ce_*`
 * headers, the value is the `data` JSON. Built by the cloudevents SDK so the
 * binding stays the spec's, not ours.
 */
export function toKafkaMessage(event: ForcehookEvent): KafkaMessage {
  const ce = new CloudEvent({ ...event, partitionkey: eventKey(event) }, false);
  const msg = Kafka.binary(ce);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
  // The SDK names it `content-type`; keep exactly one spelling on the wire.
  headers['content-type'] = 'application/json';
  const value = msg.value;
  return {
    key: eventKey(event),
    value: Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers,
  };
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
