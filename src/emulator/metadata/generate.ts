/**
 * One-off generator of `standard.json`, the trimmed describes the emulator
 * serves. Run by hand against the recorded fixtures:
 *   npx tsx src/emulator/metadata/generate.ts <fixtures dir>
 *
 * Recorded describes (Account, Contact, Lead, Opportunity, Case, Task) keep
 * every standard field with its real properties; only org-specific custom
 * fields, state/country code picklists and child relationships to objects we
 * do not emulate are dropped. Campaign, CampaignMember and User have no
 * recorded describe, so their fields are built from the documentation
 * transcriptions, borrowing the full property set from a recorded field of the
 * same type. Field properties equal to the most common value are stored once
 * in `fieldDefaults`, which keeps the file small.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;
const dir = process.argv[2];
if (!dir) throw new Error('usage: generate.ts <fixtures dir>');
const load = (f: string): Json => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Json;

const EMULATED = ['Account', 'Contact', 'Lead', 'Opportunity', 'Campaign', 'CampaignMember', 'Case', 'Task', 'User'];
const DROP_FIELDS = /(__c$|StateCode$|CountryCode$)/;

const recorded: Record<string, Json> = {
  Account: load('describe-Account.json'),
  Contact: load('describe-Contact.json'),
  Lead: load('describe-Lead.json'),
  Opportunity: load('describe-Opportunity.json'),
  Case: load('describe-Case.json'),
  Task: load('describe-Task.json'),
};
const global = load('describeGlobal.json') as { sobjects: Json[] };

const allFields: Json[] = Object.values(recorded).flatMap((d) => d.fields as Json[]);
const byType = new Map<string, Json>();
for (const f of allFields) if (!byType.has(f.type as string)) byType.set(f.type as string, f);

function transcribed(name: string, fieldsFile: string): Json {
  const t = load(fieldsFile) as { describeGlobalEntry: Json; fields: Json[] };
  const lead = recorded.Lead as Json;
  const fields = t.fields.map((tf) => fieldLike(tf));
  return {
    ...lead,
    ...t.describeGlobalEntry,
    name,
    fields,
    childRelationships: [],
    recordTypeInfos: [],
    namedLayoutInfos: [],
  };
}

/** A transcribed field becomes a full describe field (props from a recorded field of its type). */
function fieldLike(tf: Json): Json {
  const type = tf.type as string;
  const base = structuredClone(byType.get(type) ?? byType.get('string')!) as Json;
  const props = (tf.properties as string[] | null) ?? null;
  const name = tf.name as string;
  const systemReadOnly = ['Id', 'IsDeleted', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp'];
  const f: Json = {
    ...base,
    name,
    label: (tf.label as string | null) ?? name,
    referenceTo: (tf.referenceTo as string[] | undefined) ?? (type === 'reference' ? base.referenceTo : []),
    relationshipName: (tf.relationshipName as string | undefined) ?? (type === 'reference' ? name.replace(/Id$/, '') : null),
    compoundFieldName: null,
    extraTypeInfo: null,
    picklistValues: type === 'picklist' ? [] : base.picklistValues,
    nameField: name === 'Name',
    defaultValue: null,
    calculated: false,
    calculatedFormula: null,
    custom: false,
    externalId: false,
    polymorphicForeignKey: false,
    unique: false,
  };
  if (typeof tf.length === 'number') {
    f.length = tf.length;
    f.byteLength = (tf.length as number) * 3;
  }
  if (props) {
    f.createable = props.includes('Create');
    f.updateable = props.includes('Update');
    f.nillable = props.includes('Nillable');
    f.defaultedOnCreate = props.includes('Defaulted on create');
    f.filterable = props.includes('Filter');
    f.groupable = props.includes('Group');
    f.sortable = props.includes('Sort');
  } else if (systemReadOnly.includes(name)) {
    f.createable = false;
    f.updateable = false;
    f.nillable = false;
    f.defaultedOnCreate = true;
  } else {
    f.createable = true;
    f.updateable = true;
    f.nillable = true;
    f.defaultedOnCreate = false;
  }
  if (name === 'Id') f.type = 'id';
  return f;
}

const described: Record<string, Json> = { ...recorded };
described.Campaign = transcribed('Campaign', 'fields-Campaign.json');
described.CampaignMember = transcribed('CampaignMember', 'fields-CampaignMember.json');

// Campaign: the recorded org's user lacked Marketing User; ours has it.
Object.assign(described.Campaign!, {
  createable: true,
  updateable: true,
  deletable: true,
  undeletable: true,
  keyPrefix: '701',
  label: 'Campaign',
  labelPlural: 'Campaigns',
});
Object.assign(described.CampaignMember!, { keyPrefix: '00v', label: 'Campaign Member', labelPlural: 'Campaign Members', undeletable: false });
for (const f of described.Campaign!.fields as Json[]) {
  if (f.name === 'Name') Object.assign(f, { nillable: false, createable: true, updateable: true });
  if (f.name === 'OwnerId')
    Object.assign(f, { nillable: false, defaultedOnCreate: true, createable: true, updateable: true, referenceTo: ['User'], relationshipName: 'Owner' });
  if (f.name === 'IsActive') Object.assign(f, { nillable: false, defaultedOnCreate: true });
  if (
    [
      'NumberOfLeads',
      'NumberOfConvertedLeads',
      'NumberOfContacts',
      'NumberOfResponses',
      'NumberOfOpportunities',
      'NumberOfWonOpportunities',
      'AmountAllOpportunities',
      'AmountWonOpportunities',
      'HierarchyActualCost',
      'HierarchyBudgetedCost',
      'LastActivityDate',
      'LastViewedDate',
      'LastReferencedDate',
      'CampaignImageId',
    ].includes(f.name as string)
  )
    Object.assign(f, { createable: false, updateable: false, nillable: true });
  if (f.name === 'Status') f.picklistValues = picklist(['Planned', 'In Progress', 'Completed', 'Aborted'], 'Planned');
  if (f.name === 'Type')
    f.picklistValues = picklist([
      'Conference',
      'Webinar',
      'Trade Show',
      'Public Relations',
      'Partners',
      'Referral Program',
      'Advertisement',
      'Banner Ads',
      'Direct Mail',
      'Email',
      'Telemarketing',
      'Other',
    ]);
}
described.Campaign!.fields = (described.Campaign!.fields as Json[]).filter((f) => f.name !== 'CurrencyIsoCode');
for (const f of described.CampaignMember!.fields as Json[]) {
  if (f.name === 'CampaignId') Object.assign(f, { nillable: false, createable: true, updateable: false });
  if (f.name === 'LeadId' || f.name === 'ContactId')
    Object.assign(f, {
      nillable: true,
      createable: true,
      updateable: false,
      referenceTo: [f.name === 'LeadId' ? 'Lead' : 'Contact'],
      relationshipName: f.name === 'LeadId' ? 'Lead' : 'Contact',
    });
  if (f.name === 'AccountId') Object.assign(f, { label: 'Account ID', updateable: false });
  if (f.name === 'Status')
    Object.assign(f, {
      defaultedOnCreate: true,
      nillable: true,
      createable: true,
      updateable: true,
      picklistValues: picklist(['Planned', 'Received', 'Responded', 'Sent'], 'Sent'),
    });
  if (f.name === 'HasResponded') Object.assign(f, { createable: false, updateable: false, defaultedOnCreate: true, nillable: false });
  if (
    [
      'FirstRespondedDate',
      'LeadOrContactId',
      'LeadOrContactOwnerId',
      'Name',
      'FirstName',
      'LastName',
      'CompanyOrAccount',
      'Email',
      'MobilePhone',
      'Fax',
      'City',
      'Country',
      'Description',
      'DoNotCall',
      'HasOptedOutOfEmail',
      'HasOptedOutOfFax',
      'LeadSource',
    ].includes(f.name as string)
  )
    Object.assign(f, { createable: false, updateable: false, nillable: true, calculated: true });
  if (f.name === 'LeadOrContactId') Object.assign(f, { referenceTo: ['Contact', 'Lead'], relationshipName: null, polymorphicForeignKey: true });
  if (f.name === 'LeadOrContactOwnerId') Object.assign(f, { referenceTo: ['Group', 'User'], relationshipName: null });
}
described.CampaignMember!.fields = (described.CampaignMember!.fields as Json[]).filter((f) => f.name !== 'CurrencyIsoCode');

// User: no recorded describe; a small, conventional field list.
const userFields: Array<[string, string, string, number | null, string[]]> = [
  ['Id', 'id', 'User ID', 18, []],
  ['Username', 'string', 'Username', 80, ['Create', 'Update', 'Filter', 'Sort']],
  ['LastName', 'string', 'Last Name', 80, ['Create', 'Update', 'Filter', 'Sort']],
  ['FirstName', 'string', 'First Name', 40, ['Create', 'Update', 'Filter', 'Sort', 'Nillable']],
  ['Name', 'string', 'Full Name', 121, ['Filter', 'Sort']],
  ['Email', 'email', 'Email', 128, ['Create', 'Update', 'Filter', 'Sort']],
  ['Alias', 'string', 'Alias', 8, ['Create', 'Update', 'Filter', 'Sort']],
  ['IsActive', 'boolean', 'Active', null, ['Create', 'Update', 'Filter', 'Sort', 'Defaulted on create']],
  ['TimeZoneSidKey', 'picklist', 'Time Zone', 40, ['Create', 'Update', 'Filter', 'Sort']],
  ['LocaleSidKey', 'picklist', 'Locale', 40, ['Create', 'Update', 'Filter', 'Sort']],
  ['LanguageLocaleKey', 'picklist', 'Language', 40, ['Create', 'Update', 'Filter', 'Sort']],
  ['EmailEncodingKey', 'picklist', 'Email Encoding', 40, ['Create', 'Update', 'Filter', 'Sort']],
  ['ProfileId', 'reference', 'Profile ID', 18, ['Create', 'Update', 'Filter', 'Sort']],
  ['UserType', 'picklist', 'User Type', 40, ['Filter', 'Sort', 'Nillable']],
  ['CreatedDate', 'datetime', 'Created Date', null, []],
  ['CreatedById', 'reference', 'Created By ID', 18, []],
  ['LastModifiedDate', 'datetime', 'Last Modified Date', null, []],
  ['LastModifiedById', 'reference', 'Last Modified By ID', 18, []],
  ['SystemModstamp', 'datetime', 'System Modstamp', null, []],
];
const userGlobal = global.sobjects.find((s) => s.name === 'User')!;
described.User = {
  ...(recorded.Lead as Json),
  ...userGlobal,
  fields: userFields.map(([name, type, label, length, props]) =>
    fieldLike({ name, type, label, length, properties: props.length || name !== 'Id' ? props : null }),
  ),
  childRelationships: [],
  recordTypeInfos: [],
  namedLayoutInfos: [],
};
for (const f of described.User.fields as Json[]) {
  if (f.name === 'ProfileId') Object.assign(f, { referenceTo: ['Profile'], relationshipName: 'Profile' });
  if (f.name === 'CreatedById' || f.name === 'LastModifiedById')
    Object.assign(f, { referenceTo: ['User'], relationshipName: (f.name as string).replace(/Id$/, '') });
  if (f.name === 'Name') f.nameField = true;
}

function picklist(values: string[], def?: string): Json[] {
  return values.map((v) => ({ active: true, defaultValue: v === def, label: v, validFor: null, value: v }));
}

// Trim: our objects only, and per-key defaults factored out.
const objects: Record<string, Json> = {};
for (const name of EMULATED) {
  const d = structuredClone(described[name]!) as Json;
  const globalUrls = global.sobjects.find((s) => s.name === name)?.urls;
  if (!recorded[name] && globalUrls) d.urls = globalUrls;
  d.fields = (d.fields as Json[]).filter((f) => !DROP_FIELDS.test(f.name as string));
  d.childRelationships = ((d.childRelationships as Json[]) ?? []).filter((c) => EMULATED.includes(c.childSObject as string));
  const globalEntry = global.sobjects.find((s) => s.name === name);
  objects[name] = { describe: d, global: globalEntry ?? null };
}
// Child relationships the transcriptions lack, so that subqueries work both ways.
const rel = (child: string, field: string, relationshipName: string, cascadeDelete = false): Json => ({
  cascadeDelete,
  childSObject: child,
  deprecatedAndHidden: false,
  field,
  junctionIdListNames: [],
  junctionReferenceTo: [],
  relationshipName,
  restrictedDelete: false,
});
const addRel = (parent: string, r: Json) => {
  const list = (objects[parent]!.describe as Json).childRelationships as Json[];
  if (!list.some((c) => c.childSObject === r.childSObject && c.field === r.field)) list.push(r);
};
addRel('Campaign', rel('CampaignMember', 'CampaignId', 'CampaignMembers', true));
addRel('Campaign', rel('Opportunity', 'CampaignId', 'Opportunities'));
addRel('Lead', rel('CampaignMember', 'LeadId', 'CampaignMembers', true));
addRel('Contact', rel('CampaignMember', 'ContactId', 'CampaignMembers', true));
addRel('Account', rel('Contact', 'AccountId', 'Contacts'));
addRel('Account', rel('Opportunity', 'AccountId', 'Opportunities'));
addRel('Account', rel('Case', 'AccountId', 'Cases'));
addRel('Contact', rel('Case', 'ContactId', 'Cases'));
for (const o of Object.values(objects)) {
  for (const c of (o.describe as Json).childRelationships as Json[]) {
    if (c.childSObject === 'Task' && c.field === 'WhoId') c.relationshipName = 'Tasks';
  }
}

// Versions and hosts become placeholders, filled per request.
let text = JSON.stringify(objects);
text = text.replace(/\/services\/data\/v(?:\d+\.\d|xx\.0)\//g, '/services/data/v{version}/');
text = text.replace(/https:\/\/[a-z0-9.-]+\.salesforce\.com/g, '{instanceUrl}');
const out = JSON.parse(text) as Record<string, { describe: Json; global: Json | null }>;

// Factor out the most common value of each field property.
const counts = new Map<string, Map<string, number>>();
for (const o of Object.values(out))
  for (const f of o.describe.fields as Json[]) {
    for (const [k, v] of Object.entries(f)) {
      const m = counts.get(k) ?? new Map<string, number>();
      const key = JSON.stringify(v);
      m.set(key, (m.get(key) ?? 0) + 1);
      counts.set(k, m);
    }
  }
const keyOrder = Object.keys((recorded.Lead!.fields as Json[])[0]!);
const fieldDefaults: Json = {};
for (const k of keyOrder) {
  const m = counts.get(k);
  if (!m) continue;
  const best = [...m.entries()].sort((a, b) => b[1] - a[1])[0]!;
  fieldDefaults[k] = JSON.parse(best[0]);
}
for (const o of Object.values(out)) {
  o.describe.fields = (o.describe.fields as Json[]).map((f) => {
    const slim: Json = {};
    for (const [k, v] of Object.entries(f)) if (JSON.stringify(v) !== JSON.stringify(fieldDefaults[k])) slim[k] = v;
    return slim;
  });
}
writeFileSync(new URL('./standard.json', import.meta.url), JSON.stringify({ fieldDefaults, objects: out }) + '\n');
console.log('ok', Object.keys(out).join(','));
