/**
 * Object metadata: what the describes say, reduced to what writes, reads and
 * change events need. Standard objects come from `standard.json` (trimmed real
 * describes, see generate.ts) and are shared by every org; custom objects are
 * built per org from a short field list.
 */
import standard from './standard.json' with { type: 'json' };

export type Json = Record<string, unknown>;

export interface PicklistValue {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
}

export interface FieldMeta {
  name: string;
  lower: string;
  type: string;
  label: string;
  length: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  calculated: boolean;
  restrictedPicklist: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  compoundFieldName: string | null;
  picklistValues: PicklistValue[];
  /** The full describe entry, as served. */
  describe: Json;
}

export interface CompoundMeta {
  name: string;
  kind: 'address' | 'name';
  /** Component field name → key inside the change-event compound (`BillingCity` → `City`). */
  components: Array<{ field: string; cdcKey: string; restKey: string }>;
}

export interface ObjectMeta {
  name: string;
  keyPrefix: string;
  custom: boolean;
  fields: FieldMeta[];
  byLower: Map<string, FieldMeta>;
  compounds: CompoundMeta[];
  /** Component field name → its compound. */
  compoundOf: Map<string, CompoundMeta>;
  /** Removing a CampaignMember bypasses the Recycle Bin. */
  hardDelete: boolean;
  undeletable: boolean;
  describeTemplate: Json;
  globalTemplate: Json;
  /** `AccountChangeEvent`, `Invoice__ChangeEvent`. */
  changeEventName: string;
}

const FIELD_DEFAULTS = standard.fieldDefaults as Json;

/** Fields Salesforce never puts in change events (derived, or system bookkeeping). */
const NOT_IN_CHANGE_EVENTS = new Set(['Id', 'IsDeleted', 'SystemModstamp', 'LastActivityDate', 'LastViewedDate', 'LastReferencedDate', 'PhotoUrl']);

export function changeEventName(objectName: string): string {
  return objectName.endsWith('__c') ? `${objectName.slice(0, -3)}__ChangeEvent` : `${objectName}ChangeEvent`;
}

function toFieldMeta(describe: Json): FieldMeta {
  const name = describe.name as string;
  return {
    name,
    lower: name.toLowerCase(),
    type: describe.type as string,
    label: describe.label as string,
    length: (describe.length as number) ?? 0,
    nillable: describe.nillable as boolean,
    createable: describe.createable as boolean,
    updateable: describe.updateable as boolean,
    defaultedOnCreate: describe.defaultedOnCreate as boolean,
    calculated: describe.calculated as boolean,
    restrictedPicklist: describe.restrictedPicklist as boolean,
    referenceTo: (describe.referenceTo as string[]) ?? [],
    relationshipName: (describe.relationshipName as string | null) ?? null,
    compoundFieldName: (describe.compoundFieldName as string | null) ?? null,
    picklistValues: (describe.picklistValues as PicklistValue[]) ?? [],
    describe,
  };
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function buildObject(describe: Json, globalEntry: Json, hardDelete: boolean): ObjectMeta {
  const { fields: rawFields, ...template } = describe;
  const fields = (rawFields as Json[]).map(toFieldMeta);
  const compounds = new Map<string, CompoundMeta>();
  for (const f of fields) {
    // A field naming itself as its compound (Account.Name in person-account orgs) is no component.
    if (!f.compoundFieldName || f.compoundFieldName === f.name) continue;
    const parent = fields.find((p) => p.name === f.compoundFieldName);
    const kind = parent?.type === 'address' ? 'address' : 'name';
    const c = compounds.get(f.compoundFieldName) ?? { name: f.compoundFieldName, kind, components: [] };
    const prefix = kind === 'address' ? f.compoundFieldName.replace(/Address$/, '') : '';
    const cdcKey = f.name.startsWith(prefix) ? f.name.slice(prefix.length) : f.name;
    c.components.push({ field: f.name, cdcKey, restKey: lowerFirst(cdcKey) });
    compounds.set(f.compoundFieldName, c);
  }
  for (const c of compounds.values()) c.components.sort((a, b) => a.restKey.localeCompare(b.restKey));
  const compoundOf = new Map<string, CompoundMeta>();
  for (const c of compounds.values()) for (const comp of c.components) compoundOf.set(comp.field, c);
  const name = describe.name as string;
  return {
    name,
    keyPrefix: describe.keyPrefix as string,
    custom: describe.custom as boolean,
    fields,
    byLower: new Map(fields.map((f) => [f.lower, f])),
    compounds: [...compounds.values()],
    compoundOf,
    hardDelete,
    undeletable: describe.undeletable as boolean,
    describeTemplate: template,
    globalTemplate: globalEntry,
    changeEventName: changeEventName(name),
  };
}

const GLOBAL_KEYS = [
  'activateable',
  'associateEntityType',
  'associateParentEntity',
  'createable',
  'custom',
  'customSetting',
  'deepCloneable',
  'deletable',
  'deprecatedAndHidden',
  'feedEnabled',
  'hasSubtypes',
  'isInterface',
  'isSubtype',
  'keyPrefix',
  'label',
  'labelPlural',
  'layoutable',
  'mergeable',
  'mruEnabled',
  'name',
  'queryable',
  'replicateable',
  'retrieveable',
  'searchable',
  'triggerable',
  'undeletable',
  'updateable',
  'urls',
];

function globalFromDescribe(describe: Json): Json {
  const g: Json = {};
  for (const k of GLOBAL_KEYS) g[k] = describe[k] ?? null;
  g.urls = {
    sobject: `/services/data/v{version}/sobjects/${describe.name as string}`,
    describe: `/services/data/v{version}/sobjects/${describe.name as string}/describe`,
    rowTemplate: `/services/data/v{version}/sobjects/${describe.name as string}/{ID}`,
  };
  return g;
}

function expandField(slim: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(FIELD_DEFAULTS)) out[k] = k in slim ? slim[k] : structuredClone(v);
  for (const [k, v] of Object.entries(slim)) if (!(k in out)) out[k] = v;
  return out;
}

type StandardEntry = { describe: Json; global: Json | null };
const STANDARD_ENTRIES = standard.objects as unknown as Record<string, StandardEntry>;

export const STANDARD_OBJECTS: ReadonlyMap<string, ObjectMeta> = new Map(
  Object.entries(STANDARD_ENTRIES).map(([name, entry]) => {
    const describe = { ...entry.describe, fields: (entry.describe.fields as Json[]).map(expandField) };
    const meta = buildObject(describe, entry.global ?? globalFromDescribe(describe), name === 'CampaignMember');
    return [name, meta];
  }),
);

export const STANDARD_OBJECT_NAMES = [...STANDARD_OBJECTS.keys()];

// ---------------------------------------------------------------------------
// Custom objects

export interface CustomFieldDef {
  name: string;
  type: string;
  label?: string;
  required?: boolean;
  length?: number;
  referenceTo?: string;
  picklistValues?: string[];
  restricted?: boolean;
  precision?: number;
  scale?: number;
  /** An External ID field: usable for upsert. */
  externalId?: boolean;
  /**
   * A formula field: read-only, computed when read. The emulator evaluates only a formula naming another
   * field of the same object (its value is copied); any other formula reads as null.
   */
  formula?: string;
}

export interface CustomObjectDef {
  name: string;
  label?: string;
  fields?: CustomFieldDef[];
}

const lead = STANDARD_OBJECTS.get('Lead')!;
const opportunity = STANDARD_OBJECTS.get('Opportunity')!;
const leadField = (n: string): Json => structuredClone(lead.byLower.get(n.toLowerCase())!.describe);

/** Accepted custom field types (Setup names and describe names) → describe type. */
const TYPE_ALIASES: Record<string, string> = {
  text: 'string',
  string: 'string',
  textarea: 'textarea',
  longtextarea: 'textarea',
  richtextarea: 'textarea',
  email: 'email',
  phone: 'phone',
  url: 'url',
  picklist: 'picklist',
  multipicklist: 'multipicklist',
  checkbox: 'boolean',
  boolean: 'boolean',
  number: 'double',
  double: 'double',
  int: 'int',
  integer: 'int',
  currency: 'currency',
  percent: 'percent',
  date: 'date',
  datetime: 'datetime',
  lookup: 'reference',
  masterdetail: 'reference',
  reference: 'reference',
};

export function customFieldType(type: string): string | undefined {
  return TYPE_ALIASES[type.toLowerCase()];
}

function templateFor(type: string): Json {
  switch (type) {
    case 'textarea':
      return leadField('Description');
    case 'email':
      return leadField('Email');
    case 'phone':
      return leadField('Phone');
    case 'url':
      return leadField('Website');
    case 'picklist':
      return leadField('Industry');
    case 'multipicklist':
      return { ...leadField('Industry'), type: 'multipicklist', soapType: 'xsd:string' };
    case 'boolean':
      return { ...leadField('IsConverted'), defaultValue: false };
    case 'int':
      return leadField('NumberOfEmployees');
    case 'currency':
      return leadField('AnnualRevenue');
    case 'percent':
      return structuredClone(opportunity.byLower.get('probability')!.describe);
    case 'double':
      return leadField('Latitude');
    case 'date':
      return leadField('ConvertedDate');
    case 'datetime':
      return leadField('EmailBouncedDate');
    case 'reference':
      return leadField('DandbCompanyId');
    default:
      return leadField('Title');
  }
}

function customField(def: CustomFieldDef): Json {
  const type = customFieldType(def.type) ?? 'string';
  const f = templateFor(type);
  const isBool = type === 'boolean';
  Object.assign(f, {
    name: def.name,
    label: def.label ?? def.name.replace(/__c$/, '').replace(/_/g, ' '),
    custom: true,
    createable: true,
    updateable: true,
    calculated: false,
    compoundFieldName: null,
    extraTypeInfo: null,
    nillable: isBool ? false : !def.required,
    defaultedOnCreate: isBool,
    permissionable: !def.required,
    inlineHelpText: null,
  });
  if (def.length !== undefined) Object.assign(f, { length: def.length, byteLength: def.length * 3 });
  if (def.externalId) Object.assign(f, { externalId: true, idLookup: true, unique: false });
  if (def.formula !== undefined) {
    Object.assign(f, { calculated: true, calculatedFormula: def.formula, createable: false, updateable: false, nillable: true, defaultedOnCreate: false });
  }
  if (def.precision !== undefined) f.precision = def.precision;
  if (def.scale !== undefined) f.scale = def.scale;
  if (type === 'reference') {
    Object.assign(f, {
      referenceTo: [def.referenceTo ?? 'Account'],
      relationshipName: def.name.replace(/__c$/, '__r'),
      polymorphicForeignKey: false,
    });
  }
  if (type === 'picklist' || type === 'multipicklist') {
    Object.assign(f, {
      picklistValues: (def.picklistValues ?? []).map((v) => ({ active: true, defaultValue: false, label: v, validFor: null, value: v })),
      restrictedPicklist: def.restricted ?? false,
    });
  }
  return f;
}

export function buildCustomObject(def: CustomObjectDef, keyPrefix: string): ObjectMeta {
  const label = def.label ?? def.name.replace(/__c$/, '').replace(/_/g, ' ');
  const sys = [
    'Id',
    'OwnerId',
    'IsDeleted',
    'CreatedDate',
    'CreatedById',
    'LastModifiedDate',
    'LastModifiedById',
    'SystemModstamp',
    'LastViewedDate',
    'LastReferencedDate',
  ];
  const fields: Json[] = sys.map((n) => {
    const f = leadField(n);
    if (n === 'Id') f.label = 'Record ID';
    return f;
  });
  const nameField = leadField('Title');
  Object.assign(nameField, {
    name: 'Name',
    label: `${label} Name`,
    length: 80,
    byteLength: 240,
    nameField: true,
    nillable: true,
    defaultedOnCreate: true,
  });
  fields.splice(3, 0, nameField);
  for (const fd of def.fields ?? []) fields.push(customField(fd));
  const template = lead.describeTemplate;
  const describe: Json = {
    ...structuredClone(template),
    name: def.name,
    label,
    labelPlural: `${label}s`,
    keyPrefix,
    custom: true,
    mergeable: false,
    feedEnabled: false,
    childRelationships: [],
    recordTypeInfos: [],
    namedLayoutInfos: [],
    actionOverrides: [],
    urls: {
      compactLayouts: `/services/data/v{version}/sobjects/${def.name}/describe/compactLayouts`,
      rowTemplate: `/services/data/v{version}/sobjects/${def.name}/{ID}`,
      approvalLayouts: `/services/data/v{version}/sobjects/${def.name}/describe/approvalLayouts`,
      uiDetailTemplate: '{instanceUrl}/{ID}',
      uiEditTemplate: '{instanceUrl}/{ID}/e',
      listviews: `/services/data/v{version}/sobjects/${def.name}/listviews`,
      describe: `/services/data/v{version}/sobjects/${def.name}/describe`,
      uiNewRecord: `{instanceUrl}/${keyPrefix}/e`,
      quickActions: `/services/data/v{version}/sobjects/${def.name}/quickActions`,
      layouts: `/services/data/v{version}/sobjects/${def.name}/describe/layouts`,
      sobject: `/services/data/v{version}/sobjects/${def.name}`,
    },
    fields,
  };
  return buildObject(describe, globalFromDescribe(describe), false);
}

/** Change events carry stored values only, and compounds as nested objects. */
export function inChangeEvents(meta: ObjectMeta, f: FieldMeta): boolean {
  if (NOT_IN_CHANGE_EVENTS.has(f.name) || f.calculated || f.type === 'address' || f.type === 'location') return false;
  // Person names travel as the `Name` compound, not as the derived full name.
  if (f.name === 'Name' && meta.compounds.some((c) => c.name === 'Name')) return false;
  return true;
}

function fill(value: unknown, version: string, instanceUrl: string): unknown {
  return JSON.parse(JSON.stringify(value).replaceAll('{version}', version).replaceAll('{instanceUrl}', instanceUrl));
}

export function describeBody(meta: ObjectMeta, version: string, instanceUrl: string, childRelationships: Json[]): Json {
  const out = fill({ ...meta.describeTemplate, fields: meta.fields.map((f) => f.describe) }, version, instanceUrl) as Json;
  // Key order of a real describe is alphabetical; keep `fields` where it belongs.
  const ordered: Json = {};
  for (const k of Object.keys(out).sort()) ordered[k] = k === 'childRelationships' ? childRelationships : out[k];
  return ordered;
}

export function globalEntry(meta: ObjectMeta, version: string): Json {
  return fill(meta.globalTemplate, version, '') as Json;
}

/**
 * Formula fields are computed when read, never stored. A formula that names another field of the same
 * object copies its value; other formulas read as null (the emulator has no formula engine).
 */
export function withFormulas(meta: ObjectMeta, values: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const f of meta.fields) {
    if (!f.calculated || f.describe.custom !== true) continue;
    const source = meta.byLower.get(
      String(f.describe.calculatedFormula ?? '')
        .trim()
        .toLowerCase(),
    );
    out ??= { ...values };
    out[f.name] = source && !source.calculated ? (values[source.name] ?? null) : null;
  }
  return out ?? values;
}
