/**
 * Matching: which subscriptions want an event, as pure functions. The
 * dispatcher fans each message of `<prefix>.events` out with `fanOut` and hands
 * every delivery straight to its subscription's lane; only retries, overflow
 * and redeliveries travel through topics. `structuredEvent` turns a binary-mode
 * message into the structured CloudEvent a destination receives.
 */
import { matches, type SubscriptionFilter } from '../../detect/match.js';
import { fromKafkaMessage } from '../../publish/message.js';
import type { SubscriptionRecord } from '../../state/records.js';
import type { DeliveryRecord } from '../record.js';
import type { StructuredEvent } from '../types.js';

/** The event as a destination receives it, or undefined for a message that is not one. */
export function structuredEvent(m: Parameters<typeof fromKafkaMessage>[0]): StructuredEvent | undefined {
  const fast = binaryJsonEvent(m);
  if (fast) return fast;
  return sdkStructuredEvent(m);
}

/** Through the cloudevents SDK: any mode it knows (the reference for `binaryJsonEvent`). */
export function sdkStructuredEvent(m: Parameters<typeof fromKafkaMessage>[0]): StructuredEvent | undefined {
  try {
    const ce = fromKafkaMessage(m);
    const json = ce.toJSON() as Record<string, unknown>;
    if (json.data === undefined && m.value) json.data = JSON.parse(m.value.toString('utf8'));
    return json as StructuredEvent;
  } catch {
    return undefined;
  }
}

const CANONICAL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Attributes the SDK maps from `ce_*` headers; any other `ce_*` header is an extension. */
const KNOWN_CE_HEADERS = new Set(['ce_id', 'ce_type', 'ce_source', 'ce_specversion', 'ce_time', 'ce_subject', 'ce_datacontenttype', 'ce_dataschema']);

/**
 * The binary-mode JSON messages the publisher writes, read without the SDK's
 * CloudEvent object (constructed, frozen, then copied by toJSON: it showed in the
 * matcher's profile). Same attributes, same key order, same time normalization
 * as `sdkStructuredEvent` (matcher.unit.test.ts compares them byte for byte), so
 * the webhook body does not change. Anything else (structured mode, non-JSON
 * data, no time) returns undefined and takes the SDK path.
 */
function binaryJsonEvent(m: Parameters<typeof fromKafkaMessage>[0]): StructuredEvent | undefined {
  const h = m.headers;
  if (!h.ce_id || !h.ce_time || !m.value || !h['content-type']?.startsWith('application/json')) return undefined;
  let data: unknown;
  let time: string;
  try {
    data = JSON.parse(m.value.toString('utf8'));
    // The publisher writes canonical ISO times; only another writer's need the Date round trip.
    time = CANONICAL_TIME.test(h.ce_time) ? h.ce_time : new Date(h.ce_time).toISOString();
  } catch {
    return undefined;
  }
  const ev: Record<string, unknown> = { id: h.ce_id, time };
  if (h.ce_type) ev.type = h.ce_type;
  if (h.ce_source) ev.source = h.ce_source;
  ev.specversion = h.ce_specversion || '1.0';
  const dct = h.ce_datacontenttype || h['content-type'];
  if (dct) ev.datacontenttype = dct;
  if (h.ce_subject) ev.subject = h.ce_subject;
  if (h.ce_dataschema) ev.dataschema = h.ce_dataschema;
  ev.data = data;
  let keyed = false;
  for (const name in h) {
    if (!name.startsWith('ce_') || KNOWN_CE_HEADERS.has(name)) continue;
    const attr = name.slice(3);
    if (attr === 'partitionkey') {
      keyed = true;
      if (m.key !== null) ev.partitionkey = m.key;
    } else ev[attr] = h[name];
  }
  if (!keyed && m.key !== null) ev.partitionkey = m.key;
  return ev as StructuredEvent;
}

interface MatchableData {
  connectionId: string;
  orgId: string;
  recordId: string;
  object: string;
  changedFields: string[];
  changedFieldsUnknown?: true;
  campaignId?: string;
}

/** Pure: the delivery records one event yields. */
export function fanOut(event: StructuredEvent, subscriptions: readonly SubscriptionRecord[]): DeliveryRecord[] {
  const data = event.data as MatchableData | undefined;
  if (!data || typeof data !== 'object') return [];
  const out: DeliveryRecord[] = [];
  // Built once per event, not per subscription: this runs for every event × subscription of its connection.
  const matchable = { type: event.type as never, data: (Array.isArray(data.changedFields) ? data : { ...data, changedFields: [] }) as never };
  let recordKey: string | undefined;
  for (const s of subscriptions) {
    if (s.connectionId !== data.connectionId) continue;
    // A subscription record is a filter as it is (trigger, object, campaignId, fields).
    if (!matches(s as SubscriptionFilter, matchable)) continue;
    recordKey ??= `${data.orgId}:${data.recordId}`;
    out.push({ v: 1, subscriptionId: s.id, recordKey, event, attempts: 0, origin: 'match' });
  }
  return out;
}
