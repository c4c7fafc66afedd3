/**
 * Does a subscription want an event? Kept beside detection because it interprets the same vocabulary
 * (triggers, changedFields naming); delivery calls it per event.
 */
import { sameSalesforceId } from '../events/salesforce-id.js';
import { eventTypeFor, type ForcehookEvent, type Trigger } from '../events/schema.js';
import { flatNameOfChangedField } from '../normalize/compound.js';

export interface SubscriptionFilter {
  trigger: Trigger;
  /** record.* only: sObject API name, case-insensitive. */
  object?: string;
  /** campaign_* only: the campaign, 15 or 18 characters. */
  campaignId?: string;
  /** record.updated only: fire when one of these changed (`BillingAddress`, `BillingAddress.City`, `BillingCity`). */
  fields?: string[];
}

/**
 * A subscribed field matches a changed field when they name the same field or the subscribed one is the
 * compound parent (`BillingAddress` ⊇ `BillingAddress.City`), in CDC or REST spelling, ignoring case.
 */
function fieldMatches(wanted: string, changed: string): boolean {
  const w = wanted.toLowerCase();
  const c = changed.toLowerCase();
  if (w === c || c.startsWith(`${w}.`)) return true;
  return w === flatNameOfChangedField(changed).toLowerCase();
}

export function matches(subscription: SubscriptionFilter, event: Pick<ForcehookEvent, 'type' | 'data'>): boolean {
  if (eventTypeFor(subscription.trigger) !== event.type) return false;
  if (subscription.trigger.startsWith('record.')) {
    if (subscription.object !== undefined && subscription.object.toLowerCase() !== event.data.object.toLowerCase()) return false;
  } else if (subscription.campaignId !== undefined && !sameSalesforceId(subscription.campaignId, event.data.campaignId)) {
    return false;
  }
  if (subscription.trigger === 'record.updated' && subscription.fields !== undefined && subscription.fields.length > 0) {
    // Changed fields nobody can tell (read back after a gap, a first poll): any of them may have changed,
    // so the filter lets the event through. Delivered when it may not concern the subscriber rather than
    // never when it does.
    if (event.data.changedFieldsUnknown === true) return true;
    return subscription.fields.some((f) => event.data.changedFields.some((c) => fieldMatches(f, c)));
  }
  return true;
}
