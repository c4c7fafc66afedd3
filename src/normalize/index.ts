/**
 * The normalize stage: raw Salesforce input (a CDC message or a polled row) in, RawChange out.
 * Pure; the factory only binds the connection the stage serves.
 */
import { z } from 'zod';
import { normalizeChangeEvent, type NormalizeContext } from './change-event.js';
import { normalizePolledRow, type PolledRowInput } from './polled-row.js';
import type { NormalizeResult, RawChange } from './raw-change.js';

export const normalizeConfigSchema = z.object({
  orgId: z
    .string()
    .regex(/^[a-zA-Z0-9]{18}$/)
    .describe('18-character org id of the connection'),
  connectionId: z.string().min(1).describe('forcehook connection id'),
});
export type NormalizeConfig = z.infer<typeof normalizeConfigSchema>;

export interface Normalizer {
  readonly config: NormalizeConfig;
  changeEvent(msg: unknown): NormalizeResult;
  polledRow(input: PolledRowInput): RawChange;
}

export function createNormalizer(config: NormalizeConfig): Normalizer {
  const ctx: NormalizeContext = normalizeConfigSchema.parse(config);
  return {
    config: ctx,
    changeEvent: (msg) => normalizeChangeEvent(msg, ctx),
    polledRow: (input) => normalizePolledRow(input),
  };
}

export { normalizeChangeEvent, normalizePolledRow };
export type { NormalizeContext, PolledRowInput };
export type { ChangesResult, GapChangeType, GapMarker, InvalidMarker, NormalizeResult, OverflowMarker, RawChange } from './raw-change.js';
export { commitNumberToString, quoteCommitNumbers } from './commit-number.js';
export { flatFieldName, flatNameOfChangedField, flattenCompounds, toChangeEventName } from './compound.js';
export { parseSalesforceDate, diffFields } from './polled-row.js';
