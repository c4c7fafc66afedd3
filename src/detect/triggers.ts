/**
 * RawChange -> the events it triggers. One change always yields its
 * record.* event; CampaignMember creations and Opportunities gaining a campaign additionally yield the
 * campaign event, with the same commit facts so both ids are as deterministic as the record's.
 */
import { ValidationError } from '../core/errors.js';
import { cdcEventId, rowEventId, rowVersion } from '../events/id.js';
import { sameSalesforceId, toId18 } from '../events/salesforce-id.js';
import { eventTypeFor, type ChangeType, type EventType, type ForcehookEvent, type ForcehookEventData, type Trigger } from '../events/schema.js';
import type { RawChange } from '../normalize/raw-change.js';
import { fitRecord } from './fit.js';

export interface DetectContext {
  orgId: string;
  connectionId: string;
  /**
   * Polling only: the last known CampaignId of this Opportunity (null: known to have none; undefined:
   * unknown). CDC says what changed in `changedFields` and ignores it.
   */
  previousCampaignId?: string | null;
}

const RECORD_TRIGGER: Record<ChangeType, Trigger> = {
  CREATE: 'record.created',
  UPDATE: 'record.updated',
  DELETE: 'record.deleted',
  UNDELETE: 'record.undeleted',
};

function idField(record: Record<string, unknown>, name: string): string | undefined {
  const v = record[name];
  return typeof v === 'string' ? toId18(v) : undefined;
}

function hasChanged(change: RawChange, field: string): boolean {
  const f = field.toLowerCase();
  return change.changedFields.some((c) => c.toLowerCase() === f);
}

/** Did this Opportunity change gain a (new) campaign? */
function opportunityGainedCampaign(change: RawChange, ctx: DetectContext, campaignId: string | undefined): boolean {
  if (campaignId === undefined) return false;
  if (change.changeType === 'CREATE') return true;
  if (change.changeType !== 'UPDATE') return false;
  if (change.detectedBy === 'cdc') return hasChanged(change, 'CampaignId');
  if (ctx.previousCampaignId !== undefined) return !sameSalesforceId(campaignId, ctx.previousCampaignId);
  // Read back without knowing what changed (a gap, a reconcile, the first poll after a restart): the
  // campaign may be the change, so an opportunity that has one announces it. Sent twice rather than
  // never; once remembered, the next poll compares against it.
  if (change.changedFieldsUnknown === true) return true;
  return hasChanged(change, 'CampaignId');
}

/**
 * A change event's facts name the change exactly (CDC, a GAP event's records, or a row the service proved
 * to be a change event it published); otherwise the row recipe applies. See events/id.ts.
 */
function idOf(type: EventType, c: RawChange, orgId: string): string {
  if (c.detectedBy === 'cdc' || (c.transactionKey !== undefined && c.sequenceNumber !== undefined)) {
    return cdcEventId({
      orgId,
      recordId: c.recordId,
      type,
      commitTimestamp: c.commitTimestamp,
      transactionKey: c.transactionKey,
      sequenceNumber: c.sequenceNumber,
      replayId: c.replayId,
    });
  }
  return rowEventId({ orgId, recordId: c.recordId, type, stamp: c.commitTimestamp, ...(c.changeType === 'UPDATE' ? { version: rowVersion(c.record) } : {}) });
}

function buildEvent(type: EventType, change: RawChange, orgId: string, ctx: DetectContext, extra: Partial<ForcehookEventData>): ForcehookEvent {
  const { object, recordId, changeType, changedFields, record, detectedBy, commitTimestamp } = change;
  const data: ForcehookEventData = {
    orgId,
    connectionId: ctx.connectionId,
    object,
    recordId,
    changeType,
    changedFields: [...changedFields],
    record: { ...record },
    detectedBy,
    commitTimestamp,
  };
  if (change.changedFieldsUnknown === true && changeType === 'UPDATE') data.changedFieldsUnknown = true;
  for (const key of ['commitNumber', 'transactionKey', 'sequenceNumber', 'replayId', 'changeOrigin', 'commitUser'] as const) {
    if (change[key] !== undefined) Object.assign(data, { [key]: change[key] });
  }
  Object.assign(data, extra);
  fitRecord(data);
  return {
    specversion: '1.0',
    id: idOf(type, change, orgId),
    source: `/salesforce/${orgId}`,
    type,
    subject: recordId,
    time: new Date(commitTimestamp).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

export function detectTriggers(change: RawChange, ctx: DetectContext): ForcehookEvent[] {
  const orgId = toId18(ctx.orgId);
  if (orgId === undefined) throw new ValidationError(`detect: orgId ${JSON.stringify(ctx.orgId)} is not a Salesforce id`);
  const recordId = toId18(change.recordId);
  if (recordId === undefined) throw new ValidationError(`detect: recordId ${JSON.stringify(change.recordId)} is not a Salesforce id`);
  const c: RawChange = { ...change, recordId };

  const events = [buildEvent(eventTypeFor(RECORD_TRIGGER[c.changeType]), c, orgId, ctx, {})];
  const object = c.object.toLowerCase();
  const campaignId = idField(c.record, 'CampaignId');

  if (object === 'campaignmember' && c.changeType === 'CREATE' && campaignId !== undefined) {
    const leadId = idField(c.record, 'LeadId');
    const contactId = idField(c.record, 'ContactId');
    events.push(
      buildEvent(eventTypeFor('campaign_member.added'), c, orgId, ctx, {
        campaignId,
        ...(leadId !== undefined ? { leadId } : {}),
        ...(contactId !== undefined ? { contactId } : {}),
      }),
    );
  }
  if (object === 'opportunity' && opportunityGainedCampaign(c, ctx, campaignId)) {
    events.push(buildEvent(eventTypeFor('campaign_opportunity.added'), c, orgId, ctx, { campaignId: campaignId!, opportunityId: recordId }));
  }
  return events;
}
