import { randomUUID } from 'node:crypto';
import { CloudEvent, Kafka } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { forcehookEventSchema, type ForcehookEvent } from '../events/schema.js';
import { eventKey, fromKafkaMessage, toKafkaMessage } from './message.js';

/** The binding as the cloudevents SDK builds it: the reference toKafkaMessage must match. */
function sdkKafkaMessage(event: ForcehookEvent) {
  const msg = Kafka.binary(new CloudEvent({ ...event, partitionkey: eventKey(event) }, false));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
  headers['content-type'] = 'application/json';
  const value = msg.value as unknown;
  return { key: eventKey(event), value: Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), headers };
}

const base: ForcehookEvent = {
  specversion: '1.0',
  id: randomUUID(),
  source: '/salesforce/00D000000000001AAA',
  type: 'salesforce.record.updated',
  subject: '00Q000000000001AAA',
  time: '2026-01-02T03:04:05.678Z',
  datacontenttype: 'application/json',
  data: {
    orgId: '00D000000000001AAA',
    connectionId: 'conn_1',
    object: 'Lead',
    recordId: '00Q000000000001AAA',
    changeType: 'UPDATE',
    changedFields: ['Status', 'Address.City'],
    record: { Id: '00Q000000000001AAA', Status: 'Working – Contacted', Name: 'Zoë 漢字 "quoted"', Amount: 12.5, Flag: null },
    detectedBy: 'cdc',
    commitTimestamp: 1767323045678,
    commitNumber: '98765432109876543210',
    sequenceNumber: 2,
  },
};
const campaign: ForcehookEvent = {
  ...base,
  id: randomUUID(),
  type: 'salesforce.campaign_member.added',
  data: { ...base.data, changeType: 'CREATE', changedFields: [], detectedBy: 'polling', campaignId: '701000000000001AAA', leadId: '00Q000000000001AAA' },
};

describe('toKafkaMessage: CloudEvents Kafka binding, binary mode', () => {
  it.each([
    ['record event', base],
    ['campaign event', campaign],
  ])('%s: the same key, headers and value bytes as the cloudevents SDK builds', (_, event) => {
    expect(forcehookEventSchema.safeParse(event).success).toBe(true);
    const ours = toKafkaMessage(event);
    const sdk = sdkKafkaMessage(event);
    expect(ours.key).toBe(sdk.key);
    expect(ours.headers).toEqual(sdk.headers);
    expect(ours.value!.equals(sdk.value)).toBe(true);
  });

  it('the SDK parses it back into the same event', () => {
    const ce = fromKafkaMessage({ ...toKafkaMessage(base), key: eventKey(base) });
    expect(ce.toJSON()).toEqual({ ...base, partitionkey: eventKey(base) });
  });
});
