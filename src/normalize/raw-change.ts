/**
 * What the normalize stage hands to detect: one change of one record, with the source's quirks removed
 * (merged record ids split, compound fields flattened, big commit numbers as strings), but not yet
 * interpreted as triggers. Both CDC and polling produce this shape, which is what lets the same change
 * detected both ways yield identical events.
 */
import type { ChangeType, DetectedBy } from '../events/schema.js';

export interface RawChange {
  object: string;
  /** 18-character record id. */
  recordId: string;
  changeType: ChangeType;
  /** Salesforce change-event naming (`BillingAddress.City`); empty when unknown (then `changedFieldsUnknown`). */
  changedFields: string[];
  /**
   * An UPDATE whose changed fields nobody can tell: read back from REST (a GAP event, a reconcile) or
   * polled without an earlier snapshot of the record. `changedFields` is then empty, not "nothing changed".
   */
  changedFieldsUnknown?: true;
  /** Field values, REST-style flat names (`BillingCity`, `FirstName`), plus `Id`. */
  record: Record<string, unknown>;
  /** Epoch ms of the commit (CDC) or SystemModstamp / CreatedDate / deletedDate (polling), whole seconds on Salesforce. */
  commitTimestamp: number;
  commitNumber?: string;
  transactionKey?: string;
  sequenceNumber?: number;
  replayId?: string;
  changeOrigin?: string;
  commitUser?: string;
  detectedBy: DetectedBy;
}

export type GapChangeType = 'GAP_CREATE' | 'GAP_UPDATE' | 'GAP_DELETE' | 'GAP_UNDELETE';

/** The records named here changed but the event carries no values: read them through REST. */
export interface GapMarker {
  kind: 'gap';
  object: string;
  /** As sent: may hold 15/18-character ids or a key-prefix wildcard like `001*`. */
  recordIds: string[];
  changeType: GapChangeType;
  commitTimestamp: number;
  transactionKey?: string;
  /** With transactionKey, what the records' events take their ids from (events/id.ts). */
  sequenceNumber?: number;
  replayId?: string;
}

/** More than 100,000 changes in one transaction: the whole entity must be reconciled. */
export interface OverflowMarker {
  kind: 'overflow';
  object: string;
  changeType: 'GAP_OVERFLOW';
  commitTimestamp: number;
  transactionKey?: string;
  replayId?: string;
}

export interface InvalidMarker {
  kind: 'invalid';
  reason: string;
  /** The replayId when it could still be read, so the caller can checkpoint past the poison message. */
  replayId?: string;
}

export interface ChangesResult {
  kind: 'changes';
  changes: RawChange[];
}

export type NormalizeResult = ChangesResult | GapMarker | OverflowMarker | InvalidMarker;
