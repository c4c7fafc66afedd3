import { describe, expect, it } from 'vitest';
import { encodeChangeEvent } from '../../../emulator/pubsub/encode.js';
import { changeEventSchema } from '../../../emulator/pubsub/schema.js';
import { buildCustomObject, STANDARD_OBJECTS, type ObjectMeta } from '../../../emulator/metadata/objects.js';
import { normalizeChangeEvent } from '../../../normalize/change-event.js';
import { quoteCommitNumbers } from '../../../normalize/commit-number.js';
import type { ChangesResult, NormalizeResult } from '../../../normalize/raw-change.js';
import { fixtureText } from '../../../../testkit/fixtures/normalize/load.js';
import { bitPositions, decodingSchema, fieldNames, toCometdShape } from './decode.js';

const ctx = { orgId: '00D000000000001AAA', connectionId: 'conn-1' };

const EMPLOYEE = buildCustomObject(
  {
    name: 'Employee__c',
    fields: [
      { name: 'First_Name__c', type: 'text' },
      { name: 'Last_Name__c', type: 'text' },
      { name: 'Tenure__c', type: 'number' },
    ],
  } as never,
  'a01',
);

function metaOf(entity: string): ObjectMeta {
  return entity === 'Employee__c' ? EMPLOYEE : STANDARD_OBJECTS.get(entity)!;
}

/** The documented CometD payloads (normalize fixtures), as faye delivers them. */
const FIXTURES = [
  'account-create-compound.json',
  'account-create-doc.json',
  'account-gap-overflow.json',
  'account-gap-update.json',
  'account-update-merged.json',
  'case-update.data.json',
  'contact-update-compound.json',
  'employee-create-captured.json',
  'employee-delete-emp.data.json',
  'employee-update-emp.data.json',
];

function cometdMessage(name: string): { channel: string; data: Record<string, unknown> } {
  const text = quoteCommitNumbers(
    fixtureText(name).replace('<record_ID>', '001000000000001AAA').replaceAll('<User_ID>', '005000000000001AAA').replace('<Owner_ID>', '005000000000002AAA'),
  );
  const parsed = JSON.parse(text);
  return name.endsWith('.data.json') ? { channel: '/data/ChangeEvents', data: parsed } : parsed;
}

/**
 * What may differ between the transports without meaning anything: the notation of an instant (`…:32Z`
 * over CometD, epoch ms → `…:32.000Z` over Pub/Sub) and the order of `changedFields` (schema order over
 * Pub/Sub, none in particular over CometD).
 */
function sameInstants(result: NormalizeResult): unknown {
  return JSON.parse(JSON.stringify(result), (k, v) => {
    if (k === 'changedFields' && Array.isArray(v)) return [...v].sort();
    return typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/.test(v) ? new Date(v).toISOString() : v;
  });
}

describe('Pub/Sub change events decode to what CometD delivers', () => {
  it.each(FIXTURES)('%s: the same normalized changes through both transports', (name) => {
    const msg = cometdMessage(name);
    const payload = msg.data['payload'] as Record<string, unknown>;
    const entity = (payload['ChangeEventHeader'] as { entityName: string }).entityName;
    const schema = changeEventSchema(metaOf(entity));
    const bytes = encodeChangeEvent(schema, payload);
    const replayId = String((msg.data['event'] as { replayId: number }).replayId);
    const decoded = toCometdShape(decodingSchema(schema.id, schema.json), bytes, replayId);
    const viaCometd = normalizeChangeEvent(msg, ctx);
    const viaPubsub = normalizeChangeEvent({ channel: msg.channel, data: decoded }, ctx);
    expect(viaCometd.kind).not.toBe('invalid');
    expect(sameInstants(viaPubsub)).toEqual(sameInstants(viaCometd));
  });

  it('keeps a commitNumber past 2^53 exact (Salesforce longs are 64-bit)', () => {
    const msg = cometdMessage('account-update-merged.json');
    const schema = changeEventSchema(metaOf('Account'));
    const bytes = encodeChangeEvent(schema, msg.data['payload'] as Record<string, unknown>);
    const decoded = toCometdShape(decodingSchema(schema.id, schema.json), bytes, '1');
    const header = (decoded.payload['ChangeEventHeader'] ?? {}) as Record<string, unknown>;
    const expected = ((msg.data['payload'] as Record<string, unknown>)['ChangeEventHeader'] as Record<string, unknown>)['commitNumber'];
    expect(typeof expected).toBe('string');
    expect(String(header['commitNumber'])).toBe(expected);
    expect((changes(normalizeChangeEvent({ channel: '/data/AccountChangeEvent', data: decoded }, ctx))[0] as { commitNumber?: string }).commitNumber).toBe(
      expected,
    );
  });

  it("decodes Salesforce's documented bitmap example: LastModifiedDate plus BillingAddress.Street", () => {
    const s = decodingSchema('x', changeEventSchema(STANDARD_OBJECTS.get('Account')!).json);
    const lmd = s.fields.findIndex((f) => f.name === 'LastModifiedDate');
    const billing = s.fields.findIndex((f) => f.name === 'BillingAddress');
    const street = s.children.get(billing)!.findIndex((c) => c.name === 'Street');
    const top = `0x${(1n << BigInt(lmd)).toString(16).toUpperCase()}`;
    expect(fieldNames(s, [top, `${billing}-0x${(1 << street).toString(16).padStart(2, '0')}`])).toEqual(['LastModifiedDate', 'BillingAddress.Street']);
    expect(bitPositions('0x650004E0')).toEqual([5, 6, 7, 10, 24, 26, 29, 30]);
  });
});

function changes(result: NormalizeResult): unknown[] {
  expect(result.kind).toBe('changes');
  return (result as ChangesResult).changes;
}
