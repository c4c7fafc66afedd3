/**
 * Detection over a batch of changes (what one CometD delivery or one poll cycle produced): orders each
 * transaction by sequenceNumber, and gives a polled or reconciled row the facts of the change event it
 * is proven to be (see `SameChange`), so that both get one id.
 */
import type { ForcehookEvent } from '../events/schema.js';
import type { RawChange } from '../normalize/raw-change.js';
import { orderWithinTransactions } from './transaction.js';
import { detectTriggers, type DetectContext } from './triggers.js';

/** The change event a row is the same change as: its facts make the row's events take the CDC ids. */
export type SameChange = (change: RawChange) => Pick<RawChange, 'commitTimestamp' | 'transactionKey' | 'sequenceNumber'> | undefined;

export interface BatchContext extends Omit<DetectContext, 'previousCampaignId'> {
  /** Polling: last known CampaignId per Opportunity id (see DetectContext.previousCampaignId). */
  previousCampaignId?: (recordId: string) => string | null | undefined;
  /** Rows (polling, reconcile) only: the change event already published for the same change, if proven. */
  sameChange?: SameChange;
}

export function detectBatch(changes: readonly RawChange[], ctx: BatchContext): ForcehookEvent[] {
  const ordered = orderWithinTransactions(changes, (c) => c);
  const events: ForcehookEvent[] = [];
  for (const raw of ordered) {
    let change = raw;
    if (ctx.sameChange && raw.detectedBy !== 'cdc' && raw.transactionKey === undefined) {
      const facts = ctx.sameChange(raw);
      if (facts) change = { ...raw, ...facts };
    }
    const previousCampaignId = ctx.previousCampaignId?.(change.recordId);
    events.push(
      ...detectTriggers(change, {
        orgId: ctx.orgId,
        connectionId: ctx.connectionId,
        ...(previousCampaignId !== undefined ? { previousCampaignId } : {}),
      }),
    );
  }
  return events;
}
