/**
 * The event forcehook publishes: a CloudEvents 1.0 envelope around one Salesforce change of one record
 * (docs/api.md). This zod schema is the single source of truth: the TypeScript types below, the
 * committed JSON Schema (`docs/event.schema.json`, see `json-schema.ts`) and runtime validation in tests
 * all derive from it, so the three cannot drift apart.
 */
import { z } from 'zod';

export const TRIGGERS = [
  'record.created',
  'record.updated',
  'record.deleted',
  'record.undeleted',
  'campaign_member.added',
  'campaign_opportunity.added',
] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Reverse-DNS-ish prefix recommended by the CloudEvents spec for `type`. */
export const EVENT_TYPE_PREFIX = 'salesforce.';

export type EventType = `salesforce.${Trigger}`;
export const EVENT_TYPES = TRIGGERS.map((t) => `${EVENT_TYPE_PREFIX}${t}` as EventType) as unknown as readonly [EventType, ...EventType[]];

export function eventTypeFor(trigger: Trigger): EventType {
  return `salesforce.${trigger}`;
}

export function triggerOf(type: string): Trigger | undefined {
  if (!type.startsWith(EVENT_TYPE_PREFIX)) return undefined;
  const t = type.slice(EVENT_TYPE_PREFIX.length);
  return (TRIGGERS as readonly string[]).includes(t) ? (t as Trigger) : undefined;
}

export const CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const DETECTED_BY = ['cdc', 'polling', 'reconcile'] as const;
export type DetectedBy = (typeof DETECTED_BY)[number];

/** Salesforce ids as they appear on the wire; subjects are always normalized to 18 characters. */
const id18 = z.string().regex(/^[a-zA-Z0-9]{18}$/);
const id15or18 = z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/);

export const eventDataSchema = z
  .object({
    orgId: id18.describe('18-character Salesforce organization id'),
    connectionId: z.string().min(1).describe('forcehook connection the change was observed on'),
    object: z.string().min(1).describe('API name of the sObject, e.g. Account or Employee__c'),
    recordId: id18,
    changeType: z.enum(CHANGE_TYPES),
    changedFields: z
      .array(z.string())
      .describe(
        'Fields changed by an UPDATE, in Salesforce change-event naming (compound components as `BillingAddress.City`). ' +
          'Empty for other change types, and when `changedFieldsUnknown` is true.',
      ),
    changedFieldsUnknown: z
      .literal(true)
      .optional()
      .describe(
        'Present (true) on an UPDATE whose changed fields cannot be told: read back through REST after a gap or an overflow, ' +
          'or polled without an earlier snapshot of the record (the first poll after a restart). `changedFields` is then empty, ' +
          'not "nothing changed"; `record` holds the values read. A `fields` filter matches such an event.',
      ),
    record: z
      .record(z.string(), z.unknown())
      .describe(
        'Field values known for the change, flattened like the REST API shows them (BillingCity, FirstName). ' +
          'Datetimes always as `2024-01-01T00:00:00.000Z`, however Salesforce wrote them; a field set to null is present as null. ' +
          'Formula fields appear only in polled and reconciled records (change events never carry them) and are never in changedFields.',
      ),
    omittedFields: z
      .array(z.string())
      .optional()
      .describe(
        'Fields left out of `record` because the event would not fit in one Kafka message (long text areas of a record read back ' +
          'through REST): their values are in Salesforce.',
      ),
    detectedBy: z.enum(DETECTED_BY),
    commitTimestamp: z.number().int().nonnegative().describe('Commit time, epoch milliseconds'),
    commitNumber: z.string().regex(/^\d+$/).optional().describe('System change number as a decimal string (it can exceed 2^53); CDC only'),
    transactionKey: z.string().optional(),
    sequenceNumber: z.number().int().nonnegative().optional(),
    replayId: z.string().optional().describe('CDC replayId of the change event, as a string'),
    changeOrigin: z.string().optional(),
    commitUser: z.string().optional(),
    campaignId: id18.optional(),
    leadId: id18.optional(),
    contactId: id18.optional(),
    opportunityId: id18.optional(),
  })
  .meta({ id: 'ForcehookEventData', title: 'forcehook event data' });

export const forcehookEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.uuid().describe('Deterministic: the same change detected twice carries the same id'),
    source: z.string().regex(/^\/salesforce\/[a-zA-Z0-9]{18}$/),
    type: z.enum(EVENT_TYPES),
    subject: id18.describe('The record id'),
    time: z.iso.datetime({ offset: true }).describe('Commit time of the change (RFC 3339)'),
    datacontenttype: z.literal('application/json'),
    data: eventDataSchema,
  })
  .superRefine((ev, ctx) => {
    // Invariants a JSON Schema would express only clumsily; enforced at runtime and in tests.
    if (ev.subject !== ev.data.recordId) ctx.addIssue({ code: 'custom', message: 'subject must equal data.recordId' });
    if (ev.source !== `/salesforce/${ev.data.orgId}`) ctx.addIssue({ code: 'custom', message: 'source must be /salesforce/<data.orgId>' });
    if (ev.type.startsWith('salesforce.campaign_') && ev.data.campaignId === undefined) {
      ctx.addIssue({ code: 'custom', message: 'campaign events carry data.campaignId' });
    }
  })
  .meta({ id: 'ForcehookEvent', title: 'forcehook event (CloudEvents 1.0, structured JSON)' });

export type ForcehookEventData = z.infer<typeof eventDataSchema>;
export type ForcehookEvent = z.infer<typeof forcehookEventSchema>;

export { id15or18 as salesforceIdSchema };
