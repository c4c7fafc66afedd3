/**
 * Field mappings per connection: `PUT /v1/connections/:id/mappings/:name {object, fields: {label: field}}`,
 * checked against the org's describe; subscriptions may name one instead of an object.
 */
import { Router } from 'express';
import { z } from 'zod';
import { ForcehookError, NotFoundError, ValidationError } from '../core/errors.js';
import { parseBody } from '../http/validate.js';
import type { ObjectResolver } from '../salesforce/objects.js';
import type { MappingRecord, SubscriptionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import { MappingLabelSchema, MappingNameSchema } from './mapping-names.js';

const FIELD_NAME = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,120}$/, 'a field API name');

export const PutMappingSchema = z
  .object({
    object: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, 'an sObject API name, e.g. Lead or Invoice__c'),
    fields: z.record(MappingLabelSchema, FIELD_NAME).refine((f) => Object.keys(f).length >= 1 && Object.keys(f).length <= 50, 'between 1 and 50 labels'),
  })
  .strict();

export function mappingView(m: MappingRecord) {
  return {
    name: m.name,
    object: m.object,
    fields: m.fields,
    ...(m.missing?.length ? { missing: m.missing } : {}),
    ...(m.checkedAt ? { checkedAt: m.checkedAt } : {}),
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

/** A warning on the connection per mapping that names fields the org no longer has. */
export function mappingWarnings(store: ServiceStore, connectionId: string): { code: string; message: string; since: string }[] {
  return store
    .mappings(connectionId)
    .filter((m) => m.missing?.length)
    .map((m) => ({
      code: 'MAPPING_FIELD_MISSING',
      message: `mapping '${m.name}': ${m.object} has no field ${m.missing!.map((f) => `'${f}'`).join(', ')} any more; events carry no value for its label until the mapping is set again`,
      since: m.checkedAt ?? m.updatedAt,
    }));
}

export interface MappingsDeps {
  store: ServiceStore;
  /** The org's spelling of the object and fields, or a 400 naming the one it does not have. */
  resolveObject?: ObjectResolver;
  /** Every field of the object, as the org describes it now (for the check of stored mappings). */
  listFields?: (connectionId: string, object: string) => Promise<{ object: string; fields: string[] }>;
  now?: () => number;
}

/** A subscription's `fields` filter after its mapping changed: each field of an old label becomes the label's new field. */
function retranslate(s: SubscriptionRecord, next: Record<string, string>): string[] | undefined {
  if (!s.fields) return undefined;
  const labelOf = new Map(Object.entries(s.mapped ?? {}).map(([label, field]) => [field.toLowerCase(), label]));
  return s.fields.map((f) => {
    const label = labelOf.get(f.toLowerCase());
    return label && next[label] ? next[label] : f;
  });
}

/**
 * Checks a mapping against the org's describe and stores it in the org's spelling; subscriptions that
 * name it follow (their `fields` filter too), unless the object would change under them (409).
 * The API and the connect page both save through here.
 */
export async function saveMapping(
  deps: MappingsDeps,
  connectionId: string,
  name: string,
  body: z.output<typeof PutMappingSchema>,
): Promise<{ record: MappingRecord; created: boolean }> {
  const labels = Object.keys(body.fields);
  const checked = deps.resolveObject ? await deps.resolveObject(connectionId, body.object, Object.values(body.fields)) : undefined;
  const object = checked?.object ?? body.object;
  const fields = Object.fromEntries(labels.map((l, i) => [l, checked?.fields?.[i] ?? body.fields[l]!]));
  const before = deps.store.mapping(connectionId, name);
  const users = deps.store.subscriptions(connectionId).filter((s) => s.mapping === name);
  if (before && users.length && before.object !== object) {
    throw new ForcehookError('CONFLICT', `mapping '${name}' is used by ${users.length} subscription(s) on ${before.object}; its object cannot change`, {
      status: 409,
      details: { subscriptionIds: users.map((s) => s.id) },
    });
  }
  const at = new Date((deps.now ?? Date.now)()).toISOString();
  const record: MappingRecord = { connectionId, name, object, fields, checkedAt: at, createdAt: before?.createdAt ?? at, updatedAt: at };
  await deps.store.putMapping(record);
  for (const s of users) {
    const translated = retranslate(s, fields);
    await deps.store.putSubscription({ ...s, mapped: fields, ...(translated ? { fields: translated } : {}) });
  }
  return { record, created: !before };
}

export function mappingsRouter(deps: MappingsDeps): Router {
  const r = Router();
  const now = () => new Date((deps.now ?? Date.now)()).toISOString();
  const connectionOf = (id: string) => {
    const c = deps.store.connection(id);
    if (!c) throw new NotFoundError(`connection ${id} not found`);
    return c;
  };

  r.put('/connections/:id/mappings/:name', async (req, res) => {
    const c = connectionOf(req.params.id);
    const name = MappingNameSchema.safeParse(req.params.name);
    if (!name.success) throw new ValidationError(`path.name: ${name.error.issues[0]!.message}`);
    const body = parseBody(req, PutMappingSchema);
    const { record, created } = await saveMapping(deps, c.id, name.data, body);
    res.status(created ? 201 : 200).json(mappingView(record));
  });

  // Listing checks each mapping against the org as it is now: a field deleted since becomes a warning.
  r.get('/connections/:id/mappings', async (req, res) => {
    const c = connectionOf(req.params.id);
    const out = [];
    for (const m of deps.store.mappings(c.id)) {
      let current = m;
      if (deps.listFields) {
        try {
          const have = new Set((await deps.listFields(c.id, m.object)).fields.map((f) => f.toLowerCase()));
          const missing = Object.values(m.fields).filter((f) => !have.has(f.split('.')[0]!.toLowerCase()));
          if (missing.join() !== (m.missing ?? []).join()) {
            current = { ...m, ...(missing.length ? { missing } : { missing: undefined }), checkedAt: now() };
            if (!missing.length) delete current.missing;
            await deps.store.putMapping(current);
          }
        } catch (err) {
          // The org cannot be asked now (or the object is gone): the stored state stands, said so below.
          if (!(err instanceof ForcehookError)) throw err;
          if (err.status === 400) {
            current = { ...m, missing: Object.values(m.fields), checkedAt: now() };
            await deps.store.putMapping(current);
          }
        }
      }
      out.push(mappingView(current));
    }
    res.json({ data: out });
  });

  r.get('/connections/:id/mappings/:name', (req, res) => {
    const c = connectionOf(req.params.id);
    const m = deps.store.mapping(c.id, req.params.name);
    if (!m) throw new NotFoundError(`connection ${c.id} has no mapping '${req.params.name}'`);
    res.json(mappingView(m));
  });

  r.delete('/connections/:id/mappings/:name', async (req, res) => {
    const c = connectionOf(req.params.id);
    if (!deps.store.mapping(c.id, req.params.name)) throw new NotFoundError(`connection ${c.id} has no mapping '${req.params.name}'`);
    const users = deps.store.subscriptions(c.id).filter((s) => s.mapping === req.params.name);
    if (users.length) {
      throw new ForcehookError('CONFLICT', `mapping '${req.params.name}' is used by ${users.length} subscription(s); delete them first`, {
        status: 409,
        details: { subscriptionIds: users.map((s) => s.id) },
      });
    }
    await deps.store.deleteMapping(c.id, req.params.name);
    res.status(204).end();
  });
  return r;
}
