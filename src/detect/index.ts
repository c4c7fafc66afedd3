/**
 * The detect stage: RawChange in, CloudEvents out. Pure; the factory binds the connection it serves and
 * validates that binding once instead of on every change.
 */
import { z } from 'zod';
import type { ForcehookEvent } from '../events/schema.js';
import type { RawChange } from '../normalize/raw-change.js';
import { detectBatch, type BatchContext } from './batch.js';
import { detectTriggers, type DetectContext } from './triggers.js';

export const detectConfigSchema = z.object({
  orgId: z
    .string()
    .regex(/^[a-zA-Z0-9]{18}$/)
    .describe('18-character org id of the connection'),
  connectionId: z.string().min(1).describe('forcehook connection id'),
});
export type DetectConfig = z.infer<typeof detectConfigSchema>;

export interface Detector {
  readonly config: DetectConfig;
  detect(change: RawChange, opts?: Pick<DetectContext, 'previousCampaignId'>): ForcehookEvent[];
  detectBatch(changes: readonly RawChange[], opts?: Pick<BatchContext, 'previousCampaignId' | 'sameChange'>): ForcehookEvent[];
}

export function createDetector(config: DetectConfig): Detector {
  const bound = detectConfigSchema.parse(config);
  return {
    config: bound,
    detect: (change, opts = {}) => detectTriggers(change, { ...bound, ...opts }),
    detectBatch: (changes, opts = {}) => detectBatch(changes, { ...bound, ...opts }),
  };
}

export { detectBatch, detectTriggers };
export type { BatchContext, DetectContext };
export type { SameChange } from './batch.js';
export { matches, type SubscriptionFilter } from './match.js';
export { orderTransaction, orderWithinTransactions } from './transaction.js';
