import { describe, expect, it } from 'vitest';
import type { ForcehookEvent } from '../events/schema.js';
import { toKafkaMessage } from '../publish/message.js';
import { decodeEvent, typeFilter } from './decode.js';
import { leadCreatedEvent } from '../../testkit/lead-event.js';

const event: ForcehookEvent = leadCreatedEvent;

describe('decodeEvent', () => {
  it('round-trips what the publisher writes, extensions left out', () => {
    expect(decodeEvent(toKafkaMessage(event))).toEqual({ ok: true, event });
  });

  it('says why a message is not an event', () => {
    const m = toKafkaMessage(event);
    expect(decodeEvent({ ...m, value: null })).toEqual({ ok: false, reason: 'empty value (tombstone)' });
    const bad = decodeEvent({ ...m, headers: { ...m.headers, ce_subject: '00Q000000000002AAA' } });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/subject must equal data.recordId/);
    const noType = decodeEvent({ ...m, headers: { ...m.headers, ce_type: 'com.example.other' } });
    expect(!noType.ok && noType.reason).toMatch(/^invalid event: type:/);
  });
});

describe('typeFilter', () => {
  it('accepts triggers and full types alike; no list means everything', () => {
    const f = typeFilter(['record.created', 'salesforce.campaign_member.added']);
    expect(f('salesforce.record.created')).toBe(true);
    expect(f('salesforce.campaign_member.added')).toBe(true);
    expect(f('salesforce.record.updated')).toBe(false);
    expect(f(undefined)).toBe(false);
    expect(typeFilter(undefined)('salesforce.record.deleted')).toBe(true);
    expect(typeFilter([])('anything')).toBe(true);
  });
});
