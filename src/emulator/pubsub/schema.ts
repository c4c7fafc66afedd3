/**
 * Change event Avro schemas as Salesforce generates them for the Pub/Sub API: a record named
 * after the change event (`AccountChangeEvent`) in `com.sforce.eventbus`, the ChangeEventHeader
 * first, then every field the event can carry as an optional value, compound fields (addresses,
 * person names) as nested optional records. The schema id is a fingerprint of the schema, so it
 * changes when a field is added and stays put otherwise.
 */
import { createHash } from 'node:crypto';
import { inChangeEvents, type FieldMeta, type ObjectMeta } from '../metadata/objects.js';

export type AvroSchema = Record<string, unknown>;

export interface ChangeEventSchema {
  id: string;
  json: string;
  schema: AvroSchema;
}

const NAMESPACE = 'com.sforce.eventbus';

const HEADER = {
  type: 'record',
  name: 'ChangeEventHeader',
  namespace: NAMESPACE,
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: { type: 'array', items: 'string' } },
    {
      name: 'changeType',
      type: {
        type: 'enum',
        name: 'ChangeType',
        namespace: NAMESPACE,
        symbols: ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW', 'SNAPSHOT'],
      },
    },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: { type: 'array', items: 'string' } },
    { name: 'diffFields', type: { type: 'array', items: 'string' } },
    { name: 'changedFields', type: { type: 'array', items: 'string' } },
  ],
};

/** Avro type and the `doc` Salesforce puts on the field (its Salesforce type), by describe type. */
export function scalarType(f: FieldMeta): { type: string; doc: string } {
  switch (f.type) {
    case 'boolean':
      return { type: 'boolean', doc: 'Data:Boolean' };
    case 'int':
      return { type: 'int', doc: 'Data:Int' };
    case 'double':
    case 'currency':
    case 'percent':
      return { type: 'double', doc: 'Data:Double' };
    case 'datetime':
      // Epoch milliseconds: the Pub/Sub API sends dates as numbers, not as the CometD strings.
      return { type: 'long', doc: 'Data:DateTime' };
    case 'date':
      return { type: 'long', doc: 'Data:Date' };
    default:
      return { type: 'string', doc: `Data:${f.type}` };
  }
}

function optional(name: string, type: unknown, doc: string): Record<string, unknown> {
  return { name, type: ['null', type], doc, default: null };
}

function build(meta: ObjectMeta): AvroSchema {
  const fields: Record<string, unknown>[] = [{ name: 'ChangeEventHeader', type: HEADER, doc: 'Data:ComplexValueType' }];
  const compounds = new Map(meta.compounds.map((c) => [c.name, c]));
  const namedTypes = new Set<string>();
  for (const f of meta.fields) {
    const compound = compounds.get(f.name);
    if (compound) {
      const typeName = compound.kind === 'address' ? 'Address' : 'Switchable_PersonName';
      if (namedTypes.has(typeName)) {
        fields.push(optional(f.name, `${NAMESPACE}.${typeName}`, 'Data:ComplexValueType'));
        continue;
      }
      namedTypes.add(typeName);
      const children = compound.components.map((c) => {
        const child = meta.byLower.get(c.field.toLowerCase());
        const t = child ? scalarType(child) : { type: 'string', doc: 'Data:string' };
        return optional(c.cdcKey, t.type, t.doc);
      });
      fields.push(optional(f.name, { type: 'record', name: typeName, namespace: NAMESPACE, fields: children }, 'Data:ComplexValueType'));
      continue;
    }
    if (meta.compoundOf.has(f.name) || !inChangeEvents(meta, f)) continue;
    const t = scalarType(f);
    fields.push(optional(f.name, t.type, t.doc));
  }
  return { type: 'record', name: meta.changeEventName, namespace: NAMESPACE, fields };
}

/** Schemas by id, for GetSchema: content-addressed, so one registry serves every org. */
const registry = new Map<string, ChangeEventSchema>();
const byMeta = new WeakMap<ObjectMeta, ChangeEventSchema>();

export function changeEventSchema(meta: ObjectMeta): ChangeEventSchema {
  let s = byMeta.get(meta);
  if (s) return s;
  const schema = build(meta);
  const json = JSON.stringify(schema);
  const id = createHash('sha256').update(json).digest('base64url').slice(0, 22);
  s = registry.get(id) ?? { id, json, schema };
  registry.set(id, s);
  byMeta.set(meta, s);
  return s;
}

export function schemaById(id: string): ChangeEventSchema | undefined {
  return registry.get(id);
}
