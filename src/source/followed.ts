import type { SubscriptionRecord } from '../state/records.js';

/** The sObject a subscription makes the org subscriber follow. */
export function followedObject(s: Pick<SubscriptionRecord, 'trigger' | 'object'>): string {
  if (s.trigger === 'campaign_member.added') return 'CampaignMember';
  if (s.trigger === 'campaign_opportunity.added') return 'Opportunity';
  return s.object!;
}
