import { randomBytes, randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { SecretBox } from '../core/secrets.js';
import { TRIGGERS } from '../events/schema.js';
import { isSalesforceId } from '../events/salesforce-id.js';
import { parseBody } from '../http/validate.js';
import { assertAllowedUrl } from '../net/egress.js';
import { DestinationSchema, type SubscriptionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';

const OBJECT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;

export const CreateSubscriptionSchema = z
  .object({
    connectionId: z.string().min(1),
    trigger: z.enum(TRIGGERS),
    object: z.string().regex(OBJECT_NAME, 'an sObject API name, e.g. Lead or Invoice__c').optional(),
    campaignId: z.string().refine(isSalesforceId, 'a 15- or 18-character Salesforce id').optional(),
    fields: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,120}$/, 'a field API name')).min(1).max(100).optional(),
    destination: DestinationSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.trigger.startsWith('record.') && !s.object) ctx.addIssue({ code: 'custom', path: ['object'], message: `required for ${s.trigger}` });
    if (s.trigger.startsWith('campaign_') && s.object) ctx.addIssue({ code: 'custom', path: ['object'], message: `not used by ${s.trigger}` });
    if (s.campaignId && !s.trigger.startsWith('campaign_')) ctx.addIssue({ code: 'custom', path: ['campaignId'], message: 'only for campaign triggers' });
    if (s.fields && s.trigger !== 'record.updated') ctx.addIssue({ code: 'custom', path: ['fields'], message: 'only for record.updated' });
  });

/** The sObject a subscription makes the org subscriber follow. */
export function followedObject(s: Pick<SubscriptionRecord, 'trigger' | 'object'>): string {
  if (s.trigger === 'campaign_member.added') return 'CampaignMember';
  if (s.trigger === 'campaign_opportunity.added') return 'Opportunity';
  return s.object!;
}

export function subscriptionView(s: SubscriptionRecord) {
  const { secrets: _secrets, ...rest } = s;
  return rest;
}

export interface SubscriptionsDeps {
  store: ServiceStore;
  box: SecretBox;
  allowPrivateNetworks: boolean;
  /** Canonical API name of `object` in that org, or a ValidationError naming it. */
  resolveObject?: (connectionId: string, object: string) => Promise<string>;
  /** The workflows this instance can run; without it, any name is accepted. */
  workflows?: { has(name: string): boolean; names(): string[] };
}

export function subscriptionsRouter(deps: SubscriptionsDeps): Router {
  const r = Router();
  r.post('/subscriptions', async (req, res) => {
    const body = parseBody(req, CreateSubscriptionSchema);
    if (!deps.store.connection(body.connectionId)) throw new ValidationError(`body.connectionId: connection ${body.connectionId} not found`);
    if (body.destination.type === 'webhook') {
      await assertAllowedUrl(body.destination.url, { allowPrivate: deps.allowPrivateNetworks, field: 'body.destination.url', httpsOnly: true });
    }
    if (body.destination.type === 'workflow' && deps.workflows && !deps.workflows.has(body.destination.workflow)) {
      const message = `unknown workflow '${body.destination.workflow}' (registered: ${deps.workflows.names().join(', ') || 'none'})`;
      throw new ValidationError(`body.destination.workflow: ${message}`, [{ path: 'destination.workflow', message }]);
    }
    const object = body.object && deps.resolveObject ? await deps.resolveObject(body.connectionId, body.object) : body.object;
    const now = new Date().toISOString();
    const secret = body.destination.type === 'webhook' ? `whsec_${randomBytes(32).toString('base64')}` : undefined;
    const record: SubscriptionRecord = {
      id: randomUUID(),
      connectionId: body.connectionId,
      trigger: body.trigger,
      ...(object ? { object } : {}),
      ...(body.campaignId ? { campaignId: body.campaignId } : {}),
      ...(body.fields ? { fields: body.fields } : {}),
      destination: body.destination,
      ...(secret ? { secrets: [{ sealed: deps.box.seal(secret), createdAt: now }] } : {}),
      createdAt: now,
    };
    await deps.store.putSubscription(record);
    // The secret is shown once, at creation; it is stored sealed.
    res.status(201).json({ ...subscriptionView(record), ...(secret ? { secret } : {}) });
  });
  r.get('/subscriptions', (_req, res) => {
    res.json({ data: deps.store.subscriptions().map(subscriptionView) });
  });
  r.get('/subscriptions/:id', (req, res) => {
    const s = deps.store.subscription(req.params.id);
    if (!s) throw new NotFoundError(`subscription ${req.params.id} not found`);
    res.json(subscriptionView(s));
  });
  r.delete('/subscriptions/:id', async (req, res) => {
    if (!deps.store.subscription(req.params.id)) throw new NotFoundError(`subscription ${req.params.id} not found`);
    await deps.store.deleteSubscription(req.params.id);
    res.status(204).end();
  });
  return r;
}
