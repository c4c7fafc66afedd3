/**
 * Detection over a batch of changes (what one CometD delivery or one poll cycle produced): orders each
 * transaction by sequenceNumber and breaks id ties between distinct CDC changes that share
 * (recordId, changeType, commitTimestamp), see events/id.ts. A change seen twice in the batch (same
 * transaction position or replayId) is the same change and keeps the same id.
 */
import type { ForcehookEvent } from '../events/schema.js';
import type { RawChange } from '../normalize/raw-change.js';
import { orderWithinTransactions } from './transaction.js';
import { detectTriggers, type DetectContext } from './triggers.js';

export interface BatchContext extends Omit<DetectContext, 'previousCampaignId' | 'occurrence'> {
  /** Polling: last known CampaignId per Opportunity id (see DetectContext.previousCampaignId). */
  previousCampaignId?: (recordId: string) => string | null | undefined;
}

function identity(change: RawChange): string | undefined {
  if (change.transactionKey !== undefined && change.sequenceNumber !== undefined) {
    return `${change.transactionKey}#${change.sequenceNumber}`;
  }
  return change.replayId;
}

export function detectBatch(changes: readonly RawChange[], ctx: BatchContext): ForcehookEvent[] {
  const ordered = orderWithinTransactions(changes, (c) => c);
  const seen = new Map<string, string[]>();
  const events: ForcehookEvent[] = [];
  for (const change of ordered) {
    let occurrence = 0;
    const who = identity(change);
    if (change.detectedBy === 'cdc' && who !== undefined) {
      const key = `${change.recordId}|${change.changeType}|${change.commitTimestamp}`;
      const identities = seen.get(key) ?? [];
      occurrence = identities.indexOf(who);
      if (occurrence < 0) {
        occurrence = identities.length;
        identities.push(who);
        seen.set(key, identities);
      }
    }
    const previousCampaignId = ctx.previousCampaignId?.(change.recordId);
    events.push(
      ...detectTriggers(change, {
        orgId: ctx.orgId,
        connectionId: ctx.connectionId,
        ...(previousCampaignId !== undefined ? { previousCampaignId } : {}),
        occurrence,
      }),
    );
  }
  return events;
}
