import { EVENT_TYPE_PREFIX, forcehookEventSchema, type EventType, type ForcehookEvent, type Trigger } from '../events/schema.js';
import type { ConsumedMessage } from '../kafka/types.js';
import { fromKafkaMessage } from '../publish/message.js';

/** `record.created` and `salesforce.record.created` name the same thing: accept both. */
export function typeFilter(types: readonly (Trigger | EventType)[] | undefined): (type: string | undefined) => boolean {
  if (!types || types.length === 0) return () => true;
  const wanted = new Set(types.map((t) => (t.startsWith(EVENT_TYPE_PREFIX) ? t : `${EVENT_TYPE_PREFIX}${t}`)));
  return (type) => type !== undefined && wanted.has(type);
}

export type Decoded = { ok: true; event: ForcehookEvent } | { ok: false; reason: string };

const ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data'] as const;

/**
 * One message of `<prefix>.events` → our event, through the cloudevents SDK
 * (the binding is the spec's) and then the zod schema (the contract is ours).
 */
export function decodeEvent(m: Pick<ConsumedMessage, 'key' | 'value' | 'headers'>): Decoded {
  if (m.value === null) return { ok: false, reason: 'empty value (tombstone)' };
  let ce: Record<string, unknown>;
  try {
    ce = fromKafkaMessage(m) as unknown as Record<string, unknown>;
  } catch (err) {
    return { ok: false, reason: `not a CloudEvent: ${(err as Error).message}` };
  }
  // Only the contract's attributes: the SDK object also carries extensions and helpers.
  const plain: Record<string, unknown> = {};
  for (const a of ATTRIBUTES) plain[a] = ce[a];
  if (typeof plain.data === 'string') {
    try {
      plain.data = JSON.parse(plain.data);
    } catch {
      return { ok: false, reason: 'data is not JSON' };
    }
  }
  const parsed = forcehookEventSchema.safeParse(plain);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `invalid event: ${issue ? `${issue.path.join('.') || '(event)'}: ${issue.message}` : 'invalid'}` };
  }
  return { ok: true, event: parsed.data };
}
