/**
 * Create, update, delete and undelete: the one write path shared by REST,
 * composite, collections, synthetic activity and the admin routes, so that all
 * of them produce the same records and the same change events.
 */
import { sfDateTime } from './clock.js';
import { buildChangeEvents } from './cdc.js';
import { changeEventSchema } from './pubsub/schema.js';
import { newId } from './ids.js';
import type { ObjectMeta } from './metadata/objects.js';
import type { Org } from './org.js';
import { errors, sfError } from './sf-errors.js';
import type { Row, Values } from './store.js';
import { Transaction } from './transaction.js';
import { coerceBody, missingRequired, type WriteContext } from './validation.js';

export function changeOrigin(version: string, client: string | undefined): string {
  return `com/salesforce/api/rest/${version};client=${client ?? 'SfdcInternalAPI/'}`;
}

export function begin(org: Org, origin: string): Transaction {
  return new Transaction(org.clock.now(), org.user.id, origin);
}

/**
 * Publishes the transaction's change events; the records are already in place. The commit instant is
 * read now, so a transaction kept open across a clock move commits later than its rows' SystemModstamp.
 */
export function commit(org: Org, txn: Transaction): void {
  txn.committed(org.clock.now());
  const events = buildChangeEvents(
    txn,
    (id) => org.store.get(id)?.values,
    (m) => org.isCdcSelected(m),
    org.overflowThreshold,
  );
  const published = events.map((e) => ({ payload: e.payload, replayId: org.bus.publish(e.channel, e.payload, changeEventSchema(e.meta).id).replayId }));
  org.eventsPublished += events.length;
  if (org.commitObservers.size === 0) return;
  // The changes an overflow stands for happened all the same: observers count them as the events they would have made.
  const overflowed = events.some((e) => (e.payload['ChangeEventHeader'] as { changeType?: string } | undefined)?.changeType === 'GAP_OVERFLOW')
    ? buildChangeEvents(
        txn,
        (id) => org.store.get(id)?.values,
        (m) => org.isCdcSelected(m),
        org.overflowThreshold,
        true,
      ).map((e) => ({ payload: e.payload }))
    : [];
  const unselected = buildChangeEvents(
    txn,
    (id) => org.store.get(id)?.values,
    (m) => !org.isCdcSelected(m),
  ).map((e) => ({ payload: e.payload }));
  for (const observe of org.commitObservers) observe([...published, ...overflowed, ...unselected]);
}

/** Runs `fn` as one transaction: committed if it returns, rolled back if it throws. */
export function inTransaction<T>(org: Org, origin: string, fn: (txn: Transaction) => T): T {
  const txn = begin(org, origin);
  try {
    const result = fn(txn);
    commit(org, txn);
    return result;
  } catch (err) {
    txn.rollback();
    throw err;
  }
}

function context(org: Org): WriteContext {
  return { lookup: (id) => org.store.get(id), objectForPrefix: (p) => org.objectForPrefix(p) };
}

function clean(values: Values): Values {
  for (const k of Object.keys(values)) if (values[k] === null || values[k] === undefined) delete values[k];
  return values;
}

/** Fields Salesforce computes from others: full names, address compounds, closed flags, member details. */
function derive(org: Org, meta: ObjectMeta, v: Values): void {
  if (meta.name === 'Contact' || meta.name === 'Lead' || meta.name === 'User') {
    v.Name = [v.FirstName, v.LastName].filter((x) => x != null && x !== '').join(' ') || null;
  }
  for (const c of meta.compounds) {
    if (c.kind !== 'address') continue;
    const obj: Values = {};
    let any = false;
    for (const comp of c.components) {
      obj[comp.restKey] = v[comp.field] ?? null;
      if (v[comp.field] != null) any = true;
    }
    v[c.name] = any ? obj : null;
  }
  switch (meta.name) {
    case 'Opportunity':
      v.IsClosed = v.StageName === 'Closed Won' || v.StageName === 'Closed Lost';
      v.IsWon = v.StageName === 'Closed Won';
      break;
    case 'Case':
      v.IsClosed = v.Status === 'Closed';
      break;
    case 'Task':
      v.IsClosed = v.Status === 'Completed';
      break;
    case 'CampaignMember': {
      v.LeadOrContactId = v.ContactId ?? v.LeadId ?? null;
      v.HasResponded = v.Status === 'Responded';
      const person = typeof v.LeadOrContactId === 'string' ? org.store.get(v.LeadOrContactId)?.values : undefined;
      if (person) {
        v.FirstName = person.FirstName ?? null;
        v.LastName = person.LastName ?? null;
        v.Name = person.Name ?? null;
        v.Email = person.Email ?? null;
        v.CompanyOrAccount = person.Company ?? null;
        v.LeadOrContactOwnerId = person.OwnerId ?? null;
      }
      break;
    }
  }
}

function defaults(org: Org, meta: ObjectMeta, id: string): Values {
  const v: Values = { Id: id, IsDeleted: false };
  for (const f of meta.fields) {
    if (f.type === 'boolean' && f.name !== 'IsDeleted') v[f.name] = f.describe.defaultValue === true;
    else if (f.type === 'picklist' && f.defaultedOnCreate) {
      const def = f.picklistValues.find((p) => p.defaultValue);
      if (def) v[f.name] = def.value;
    }
  }
  if (meta.byLower.has('ownerid')) v.OwnerId = org.user.id;
  if (meta.name === 'Case') v.CaseNumber = org.nextCaseNumber();
  if (meta.name === 'User') v.IsActive = true;
  return v;
}

export function createRecord(org: Org, txn: Transaction, meta: ObjectMeta, body: unknown): string {
  if (meta.describeTemplate.createable === false) throw sfError(400, 'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY', `entity type cannot be inserted: ${meta.name}`);
  const input = coerceBody(meta, body, 'create', context(org));
  const id = newId(meta.keyPrefix);
  const v = defaults(org, meta, id);
  Object.assign(v, input);
  const ts = sfDateTime(txn.ts);
  Object.assign(v, { CreatedDate: ts, CreatedById: txn.userId, LastModifiedDate: ts, LastModifiedById: txn.userId, SystemModstamp: ts });
  const missing = missingRequired(meta, v, 'create', input);
  if (missing.length > 0) throw errors.requiredMissing(missing);
  if (meta.name === 'CampaignMember') checkCampaignMember(org, v);
  if (meta.custom && v.Name == null) v.Name = id;
  derive(org, meta, v);
  const row: Row = { id, object: meta.name, values: clean(v) };
  org.store.put(row);
  txn.onUndo(() => org.store.remove(id));
  if (meta.name === 'CampaignMember') {
    const key = memberKey(row.values);
    org.campaignMembers.add(key);
    txn.onUndo(() => org.campaignMembers.delete(key));
  }
  txn.note(meta, id, 'CREATE');
  return id;
}

function memberKey(v: Values): string {
  return `${String(v.CampaignId)}:${String(v.ContactId ?? v.LeadId)}`;
}

function checkCampaignMember(org: Org, v: Values): void {
  if (v.LeadId == null && v.ContactId == null) throw errors.requiredMissing(['ContactId', 'LeadId']);
  if (org.campaignMembers.has(memberKey(v))) throw sfError(400, 'DUPLICATE_VALUE', 'Already a campaign member.', []);
}

/** The live row of `id`, or Salesforce's error for it. */
export function liveRow(org: Org, meta: ObjectMeta | undefined, id: string): Row {
  const row = org.store.get(id);
  if (!row || (meta && row.object !== meta.name)) throw errors.notFound();
  if (row.values.IsDeleted === true) throw errors.entityIsDeleted();
  return row;
}

export function updateRecord(org: Org, txn: Transaction, meta: ObjectMeta | undefined, id: string, body: unknown): void {
  const row = liveRow(org, meta, id);
  const m = org.object(row.object)!;
  const input = coerceBody(m, body, 'update', context(org));
  const missing = missingRequired(m, row.values, 'update', input);
  if (missing.length > 0) throw errors.requiredMissing(missing);
  applyUpdate(org, txn, m, row, input);
}

/** Writes already-valid values (also fields only Salesforce itself may set, as lead conversion does). */
function applyUpdate(org: Org, txn: Transaction, m: ObjectMeta, row: Row, input: Values): void {
  const ts = sfDateTime(txn.ts);
  const v: Values = { ...row.values, ...input, LastModifiedDate: ts, SystemModstamp: ts, LastModifiedById: txn.userId };
  derive(org, m, v);
  clean(v);
  const changed: string[] = [];
  for (const f of m.fields) {
    const before = row.values[f.name];
    const after = v[f.name];
    if (before !== after && (typeof before !== 'object' || before === null)) changed.push(f.name);
  }
  const old = row.values;
  row.values = v;
  txn.onUndo(() => {
    row.values = old;
  });
  txn.note(m, row.id, 'UPDATE', changed);
}

/**
 * Lead conversion as one transaction: Account, Contact and (optionally)
 * Opportunity CREATEs, then the Lead UPDATE with the Converted* fields.
 */
export function convertLead(
  org: Org,
  txn: Transaction,
  leadId: string,
  opts: { convertedStatus?: string; createOpportunity?: boolean } = {},
): { accountId: string; contactId: string; opportunityId: string | null } {
  const leadMeta = org.object('Lead')!;
  const lead = liveRow(org, leadMeta, leadId);
  if (lead.values.IsConverted === true) throw sfError(400, 'INVALID_STATUS', 'Lead is already converted', []);
  const l = lead.values;
  const pick = (keys: string[]): Values => Object.fromEntries(keys.filter((k) => l[k] != null).map((k) => [k, l[k]]));
  const accountId = createRecord(org, txn, org.object('Account')!, {
    Name: l.Company ?? l.Name,
    ...Object.fromEntries(Object.entries(pick(['Street', 'City', 'State', 'PostalCode', 'Country'])).map(([k, v]) => [`Billing${k}`, v])),
    ...pick(['Phone', 'Website', 'Industry', 'AnnualRevenue', 'NumberOfEmployees']),
  });
  const contactId = createRecord(org, txn, org.object('Contact')!, {
    AccountId: accountId,
    ...pick(['FirstName', 'LastName', 'Salutation', 'Title', 'Email', 'Phone', 'MobilePhone', 'LeadSource']),
  });
  let opportunityId: string | null = null;
  if (opts.createOpportunity !== false) {
    opportunityId = createRecord(org, txn, org.object('Opportunity')!, {
      Name: `${String(l.Company ?? l.Name)}-`,
      AccountId: accountId,
      StageName: 'Prospecting',
      CloseDate: new Date(txn.ts + 30 * 86_400_000).toISOString().slice(0, 10),
      ...pick(['LeadSource']),
    });
  }
  applyUpdate(org, txn, leadMeta, lead, {
    Status: opts.convertedStatus ?? 'Closed - Converted',
    IsConverted: true,
    ConvertedDate: new Date(txn.ts).toISOString().slice(0, 10),
    ConvertedAccountId: accountId,
    ConvertedContactId: contactId,
    ConvertedOpportunityId: opportunityId,
  });
  return { accountId, contactId, opportunityId };
}

export function deleteRecord(org: Org, txn: Transaction, meta: ObjectMeta | undefined, id: string): void {
  const row = liveRow(org, meta, id);
  const m = org.object(row.object)!;
  if (m.describeTemplate.deletable === false) throw sfError(400, 'INSUFFICIENT_ACCESS_OR_READONLY', 'insufficient access rights on object id', []);
  const entry = { object: m.name, id, at: txn.ts };
  if (m.hardDelete) {
    org.store.remove(id);
    txn.onUndo(() => org.store.put(row));
    if (m.name === 'CampaignMember') {
      const key = memberKey(row.values);
      org.campaignMembers.delete(key);
      txn.onUndo(() => org.campaignMembers.add(key));
    }
  } else {
    const old = row.values;
    const ts = sfDateTime(txn.ts);
    row.values = { ...old, IsDeleted: true, LastModifiedDate: ts, LastModifiedById: txn.userId, SystemModstamp: ts };
    txn.onUndo(() => {
      row.values = old;
    });
  }
  org.store.logDelete(entry);
  txn.onUndo(() => org.store.unlogDelete(id));
  txn.note(m, id, 'DELETE');
  cascadeDelete(org, txn, m, id);
}

/** The child relationships whose rows go with a deleted parent (describe's `cascadeDelete`), among the objects emulated. */
function cascades(org: Org, m: ObjectMeta): Array<{ child: ObjectMeta; field: string }> {
  const out: Array<{ child: ObjectMeta; field: string }> = [];
  for (const r of org.childRelationships(m) as Array<{ cascadeDelete?: unknown; childSObject?: unknown; field?: unknown }>) {
    const child = r.cascadeDelete === true && typeof r.childSObject === 'string' ? org.object(r.childSObject) : undefined;
    if (child && typeof r.field === 'string') out.push({ child, field: r.field });
  }
  return out;
}

/**
 * Deleting a parent deletes its children in the same transaction ("If you delete a parent object, you
 * delete its children automatically"): an Account takes its Contacts, Opportunities and Tasks along, each a
 * DELETE of the one transaction. Such a transaction is how an org exceeds the overflow threshold.
 */
function cascadeDelete(org: Org, txn: Transaction, m: ObjectMeta, parentId: string): void {
  for (const { child, field } of cascades(org, m)) {
    const ids: string[] = [];
    for (const r of org.store.table(child.name).values()) if (r.values[field] === parentId && r.values.IsDeleted !== true) ids.push(r.id);
    for (const childId of ids) {
      deleteRecord(org, txn, child, childId);
      const row = org.store.get(childId);
      if (row && !child.hardDelete) {
        row.deletedWith = parentId;
        txn.onUndo(() => {
          delete row.deletedWith;
        });
      }
    }
  }
}

export function undeleteRecord(org: Org, txn: Transaction, id: string): void {
  const row = org.store.get(id);
  if (!row) throw sfError(400, 'INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', []);
  if (row.values.IsDeleted !== true) throw sfError(400, 'UNDELETE_FAILED', 'Entity is not in the recycle bin', []);
  const m = org.object(row.object)!;
  const old = row.values;
  const ts = sfDateTime(txn.ts);
  row.values = { ...old, IsDeleted: false, LastModifiedDate: ts, LastModifiedById: txn.userId, SystemModstamp: ts };
  org.store.unlogDelete(id);
  txn.onUndo(() => {
    row.values = old;
    org.store.logDelete({ object: m.name, id, at: txn.ts });
  });
  txn.note(m, id, 'UNDELETE');
  // Children deleted with it come back with it, as from the Recycle Bin.
  for (const { child } of cascades(org, m)) {
    for (const r of [...org.store.table(child.name).values()]) {
      if (r.deletedWith !== id || r.values.IsDeleted !== true) continue;
      delete r.deletedWith;
      txn.onUndo(() => {
        r.deletedWith = id;
      });
      undeleteRecord(org, txn, r.id);
    }
  }
}
