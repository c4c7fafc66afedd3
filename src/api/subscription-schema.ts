/**
 * The bodies of `POST /v1/subscriptions` and `.../redeliver`. Their own module, free of Node APIs,
 * because the operator console's forms validate with these very schemas in the browser.
 */
import { z } from 'zod';
import { TRIGGERS } from '../events/schema.js';
import { isSalesforceId } from '../events/salesforce-id.js';
import { DestinationSchema } from '../state/records.js';
import { MappingNameSchema } from './mapping-names.js';

const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export const CreateSubscriptionSchema = z
  .object({
    connectionId: z.string().min(1),
    trigger: z.enum(TRIGGERS),
    object: z.string().regex(OBJECT_NAME, 'an sObject API name, e.g. Lead or Invoice__c').optional(),
    campaignId: z.string().refine(isSalesforceId, 'a 15- or 18-character Salesforce id').optional(),
    fields: z
      .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,120}$/, 'a field API name'))
      .min(1)
      .max(100)
      .optional(),
    mapping: MappingNameSchema.optional().describe(
      'a field mapping of the connection instead of object: its object; events carry data.mapped; fields may use its labels',
    ),
    destination: DestinationSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.trigger.startsWith('record.') && !s.object && !s.mapping) {
      ctx.addIssue({ code: 'custom', path: ['object'], message: `required for ${s.trigger} (or mapping)` });
    }
    if (s.object && s.mapping) ctx.addIssue({ code: 'custom', path: ['mapping'], message: 'either object or mapping, not both' });
    if (s.mapping && !s.trigger.startsWith('record.')) ctx.addIssue({ code: 'custom', path: ['mapping'], message: `not used by ${s.trigger}` });
    if (s.trigger.startsWith('campaign_') && s.object) ctx.addIssue({ code: 'custom', path: ['object'], message: `not used by ${s.trigger}` });
    if (s.campaignId && !s.trigger.startsWith('campaign_')) ctx.addIssue({ code: 'custom', path: ['campaignId'], message: 'only for campaign triggers' });
    if (s.fields && s.trigger !== 'record.updated') ctx.addIssue({ code: 'custom', path: ['fields'], message: 'only for record.updated' });
  });

export const RedeliverSchema = z.union([
  z.object({ dlq: z.literal(true) }).strict(),
  z
    .object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
    .strict()
    .refine((r) => Date.parse(r.from) < Date.parse(r.to), { path: ['to'], message: 'must be after from' }),
]);
