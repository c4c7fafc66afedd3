import { randomBytes, randomUUID } from 'node:crypto';
import { Router } from 'express';
import { ForcehookError, NotFoundError, ValidationError } from '../core/errors.js';
import type { SecretBox } from '../core/secrets.js';
import { parseBody } from '../http/validate.js';
import { assertAllowedUrl } from '../net/egress.js';
import { deliveryView } from '../deliver/state/keeper.js';
import type { Redeliverer } from '../deliver/redeliver/redeliver.js';
import { sealedPlace, type SubscriptionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { CreateSubscriptionSchema, RedeliverSchema } from './subscription-schema.js';

export { CreateSubscriptionSchema, RedeliverSchema } from './subscription-schema.js';

export function subscriptionView(s: SubscriptionRecord) {
  const { secrets: _secrets, ...rest } = s;
  return rest;
}

/** The delivery view with `paused` over the dispatcher's own states (a paused subscription attempts nothing). */
function deliveryOf(store: ServiceStore, s: SubscriptionRecord) {
  const view = deliveryView(store.deliveryState(s.id));
  return s.pausedAt !== undefined ? { ...view, state: 'paused' as const } : view;
}

export interface SubscriptionsDeps {
  store: ServiceStore;
  box: SecretBox;
  allowPrivateNetworks: boolean;
  /**
   * The org's spelling of `object` (and of `fields`), or a 400 naming the one it does not have; a 409/503
   * when the org cannot be asked. Without it (tests of the API alone) names are taken as given.
   */
  resolveObject?: (connectionId: string, object: string, fields?: readonly string[]) => Promise<{ object: string; fields?: string[] }>;
  /** The workflows this instance can run; without it, any name is accepted. */
  workflows?: { has(name: string): boolean; names(): string[] };
  /** The delivery engine's redelivery; absent → redeliver answers 503. */
  redeliver?: Redeliverer;
  now?: () => number;
}

/** How long a rotated-out secret keeps signing (both signatures are sent meanwhile). */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

const newSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

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
    const mapping = body.mapping ? deps.store.mapping(body.connectionId, body.mapping) : undefined;
    if (body.mapping && !mapping) throw new ValidationError(`body.mapping: connection ${body.connectionId} has no mapping '${body.mapping}'`);
    // A label of the mapping stands for its field; anything else is taken as a field name.
    const wanted = mapping ? body.fields?.map((f) => mapping.fields[f] ?? f) : body.fields;
    const target = mapping?.object ?? body.object;
    const checked = target && deps.resolveObject ? await deps.resolveObject(body.connectionId, target, wanted) : undefined;
    const object = checked?.object ?? target;
    const fields = checked?.fields ?? wanted;
    const now = new Date((deps.now ?? Date.now)()).toISOString();
    const secret = body.destination.type === 'webhook' ? newSecret() : undefined;
    const id = randomUUID();
    const record: SubscriptionRecord = {
      id,
      connectionId: body.connectionId,
      trigger: body.trigger,
      ...(object ? { object } : {}),
      ...(body.campaignId ? { campaignId: body.campaignId } : {}),
      ...(fields ? { fields } : {}),
      ...(mapping ? { mapping: mapping.name, mapped: mapping.fields } : {}),
      destination: body.destination,
      ...(secret ? { secrets: [{ sealed: deps.box.seal(secret, sealedPlace.webhookSecret(id)), createdAt: now }] } : {}),
      createdAt: now,
    };
    await deps.store.putSubscription(record);
    // The secret is shown once, at creation; it is stored sealed.
    res.status(201).json({ ...subscriptionView(record), ...(secret ? { secret } : {}) });
  });
  r.get('/subscriptions', (_req, res) => {
    res.json({ data: deps.store.subscriptions().map((s) => ({ ...subscriptionView(s), delivery: deliveryOf(deps.store, s) })) });
  });
  r.get('/subscriptions/:id', (req, res) => {
    const s = deps.store.subscription(req.params.id);
    if (!s) throw new NotFoundError(`subscription ${req.params.id} not found`);
    res.json({ ...subscriptionView(s), delivery: deliveryOf(deps.store, s) });
  });
  // Pausing is a field of the subscription in the state topic: every instance's dispatcher parks
  // the subscription's deliveries (uncommitted) until it is cleared, then sends them in order.
  r.post('/subscriptions/:id/pause', async (req, res) => {
    const s = deps.store.subscription(req.params.id);
    if (!s) throw new NotFoundError(`subscription ${req.params.id} not found`);
    const next = s.pausedAt !== undefined ? s : { ...s, pausedAt: new Date((deps.now ?? Date.now)()).toISOString() };
    if (next !== s) await deps.store.putSubscription(next);
    res.json({ ...subscriptionView(next), delivery: deliveryOf(deps.store, next) });
  });
  r.post('/subscriptions/:id/resume', async (req, res) => {
    const s = deps.store.subscription(req.params.id);
    if (!s) throw new NotFoundError(`subscription ${req.params.id} not found`);
    const { pausedAt, ...next } = s;
    if (pausedAt !== undefined) await deps.store.putSubscription(next);
    res.json({ ...subscriptionView(next), delivery: deliveryOf(deps.store, next) });
  });
  r.post('/subscriptions/:id/rotate-secret', async (req, res) => {
    const s = deps.store.subscription(req.params.id);
    if (!s) throw new NotFoundError(`subscription ${req.params.id} not found`);
    if (s.destination.type !== 'webhook') throw new ValidationError('only webhook subscriptions have a signing secret');
    const now = (deps.now ?? Date.now)();
    const overlapEnds = new Date(now + SECRET_OVERLAP_MS).toISOString();
    const secret = newSecret();
    // Only the secret being replaced keeps signing through the overlap; older ones end now. A rotation
    // is often the answer to a leak: rotating twice must leave the leaked secret with no validity left.
    const current = s.secrets?.[0];
    const kept = current && (current.expiresAt === undefined || Date.parse(current.expiresAt) > now) ? [{ ...current, expiresAt: overlapEnds }] : [];
    await deps.store.putSubscription({
      ...s,
      secrets: [{ sealed: deps.box.seal(secret, sealedPlace.webhookSecret(s.id)), createdAt: new Date(now).toISOString() }, ...kept],
    });
    // Shown once, like at creation.
    res.json({ id: s.id, secret, previousSecretsValidUntil: kept.length ? overlapEnds : undefined });
  });
  r.post('/subscriptions/:id/redeliver', async (req, res) => {
    if (!deps.store.subscription(req.params.id)) throw new NotFoundError(`subscription ${req.params.id} not found`);
    const body = parseBody(req, RedeliverSchema);
    if (!deps.redeliver) throw new ForcehookError('INTERNAL', 'delivery is not running on this instance', { status: 503, retriable: true });
    const count =
      'dlq' in body
        ? await deps.redeliver.redeliverDlq(req.params.id)
        : await deps.redeliver.redeliverRange(req.params.id, Date.parse(body.from), Date.parse(body.to));
    res.status(202).json({ id: req.params.id, count });
  });
  r.delete('/subscriptions/:id', async (req, res) => {
    if (!deps.store.subscription(req.params.id)) throw new NotFoundError(`subscription ${req.params.id} not found`);
    await deps.store.deleteSubscription(req.params.id);
    await deps.store.deleteDeliveryState(req.params.id);
    res.status(204).end();
  });
  return r;
}
