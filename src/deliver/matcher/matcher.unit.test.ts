import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ForcehookEvent } from '../../events/schema.js';
import { toKafkaMessage } from '../../publish/message.js';
import { sdkStructuredEvent, structuredEvent } from './matcher.js';

const event: ForcehookEvent = {
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
    changedFields: ['Status'],
    record: { Id: '00Q000000000001AAA', Status: 'Working – Contacted', Name: 'Zoë 漢字' },
    detectedBy: 'cdc',
    commitTimestamp: 1767323045678,
  },
};

describe('matcher: the structured event a destination receives', () => {
  const msg = toKafkaMessage(event);
  it.each([
    ['as published', msg],
    ['time with an offset, an extra extension', { ...msg, headers: { ...msg.headers, ce_time: '2026-01-02T05:04:05+02:00', ce_traceparent: '00-abc-def-01' } }],
    ['no partitionkey header', { ...msg, headers: Object.fromEntries(Object.entries(msg.headers).filter(([k]) => k !== 'ce_partitionkey')) }],
  ])('%s: byte for byte what the cloudevents SDK path gives', (_, m) => {
    expect(JSON.stringify(structuredEvent(m))).toBe(JSON.stringify(sdkStructuredEvent(m)));
  });

  it('structured mode and non-CloudEvents still go through the SDK', () => {
    const structured = {
      key: 'k',
      value: Buffer.from(JSON.stringify({ ...event, partitionkey: 'k' })),
      headers: { 'content-type': 'application/cloudevents+json' },
    };
    expect(structuredEvent(structured)).toMatchObject({ id: event.id, data: event.data });
    expect(structuredEvent({ key: null, value: Buffer.from('{}'), headers: {} })).toBeUndefined();
  });
});
