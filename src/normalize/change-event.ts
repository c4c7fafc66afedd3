/**
 * CDC message -> RawChange per record. Pure and total: whatever arrives over the wire, the result is a
 * value, never an exception, because one poison message must not stall an org's stream; the caller logs
 * an `invalid` result and moves its checkpoint past it.
 */
import { toId18 } from '../events/salesforce-id.js';
import { cdcMessageSchema, FIELD_NAME, peekReplayId, type ChangeEventHeader } from './cdc-message.js';
import { commitNumberToString } from './commit-number.js';
import { flatNameOfChangedField, flattenCompounds, isPlainObject } from './compound.js';
import { withCanonicalDateTimes } from './datetime.js';
import type { GapChangeType, NormalizeResult, RawChange } from './raw-change.js';

export interface NormalizeContext {
  orgId: string;
  connectionId: string;
}

/** Compound components are scalars; anything deeper is not something Salesforce sends. */
function isFieldValue(value: unknown, depth: number): boolean {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return true;
  if (Array.isArray(value)) return depth === 0 && value.every((v) => isFieldValue(v, 1));
  if (isPlainObject(value) && depth === 0) {
    return Object.entries(value).every(([k, v]) => FIELD_NAME.test(k) && isFieldValue(v, 1));
  }
  return false;
}

function invalid(reason: string, msg: unknown): NormalizeResult {
  const replayId = peekReplayId(msg);
  return replayId === undefined ? { kind: 'invalid', reason } : { kind: 'invalid', reason, replayId };
}

/** Optional attributes are left out rather than set to undefined/null, so events stay minimal JSON. */
export function opt<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return value === null || value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function normalizeParsed(msg: unknown): NormalizeResult {
  const parsed = cdcMessageSchema.safeParse(msg);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return invalid(`malformed change event: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown'}`, msg);
  }
  const { data } = parsed.data;
  const h: ChangeEventHeader = data.payload.ChangeEventHeader;
  const replayId = String(data.event.replayId);
  const common = {
    object: h.entityName,
    commitTimestamp: h.commitTimestamp,
    ...opt('transactionKey', h.transactionKey),
    replayId,
  };

  if (h.changeType === 'GAP_OVERFLOW') return { kind: 'overflow', changeType: 'GAP_OVERFLOW', ...common };
  if (h.changeType.startsWith('GAP_')) {
    return { kind: 'gap', changeType: h.changeType as GapChangeType, recordIds: [...h.recordIds], ...common, ...opt('sequenceNumber', h.sequenceNumber) };
  }

  const body: Record<string, unknown> = {};
  // Read the body from the input itself: zod's copy may silently drop or reinterpret a "__proto__" key,
  // and a hostile key should make the message invalid, not vanish.
  const rawPayload = (msg as { data: { payload: Record<string, unknown> } }).data.payload;
  for (const [key, value] of Object.entries(rawPayload)) {
    if (key === 'ChangeEventHeader') continue;
    if (!FIELD_NAME.test(key)) return invalid(`unexpected body field name ${JSON.stringify(key.slice(0, 80))}`, msg);
    if (!isFieldValue(value, 0)) return invalid(`unexpected value for body field ${key}`, msg);
    body[key] = value;
  }
  const record = withCanonicalDateTimes(flattenCompounds(body));
  const changedFields = [...(h.changedFields ?? [])];
  if (h.changeType === 'UPDATE') {
    // A field set to null: older guides put it in the body as null, the current Streaming API guide leaves
    // null fields out of the body (the field is still in changedFields), and Pub/Sub names it in
    // nulledFields. All three mean the same, and read the same here: the field, null, and changed.
    for (const name of h.nulledFields ?? []) if (!changedFields.includes(name)) changedFields.push(name);
    for (const name of changedFields) {
      const flat = flatNameOfChangedField(name);
      if (FIELD_NAME.test(flat) && !(flat in record)) record[flat] = null;
    }
    for (const name of h.nulledFields ?? []) {
      const flat = flatNameOfChangedField(name);
      if (FIELD_NAME.test(flat)) record[flat] = null;
    }
  }

  const recordIds: string[] = [];
  for (const id of h.recordIds) {
    const id18 = toId18(id);
    if (id18 === undefined) return invalid(`record id ${JSON.stringify(id)} in a ${h.changeType} event`, msg);
    // A merged event can in principle list an id twice; one event per record is the contract.
    if (!recordIds.includes(id18)) recordIds.push(id18);
  }

  const changeType = h.changeType as RawChange['changeType'];
  const commitNumber = commitNumberToString(h.commitNumber);
  const changes = recordIds.map((recordId): RawChange => ({
    object: h.entityName,
    recordId,
    changeType,
    changedFields: [...changedFields],
    // Merged events: the same body applies to every listed record, so each gets its own copy.
    record: { ...record, Id: recordId },
    commitTimestamp: h.commitTimestamp,
    ...opt('commitNumber', commitNumber),
    ...opt('transactionKey', h.transactionKey),
    ...opt('sequenceNumber', h.sequenceNumber),
    replayId,
    ...opt('changeOrigin', h.changeOrigin),
    ...opt('commitUser', h.commitUser),
    detectedBy: 'cdc',
  }));
  return { kind: 'changes', changes };
}

/**
 * `ctx` is part of the stage contract (and of future enrichment); org and connection reach the event in
 * detect, which is where ids are computed.
 */
export function normalizeChangeEvent(msg: unknown, _ctx: NormalizeContext): NormalizeResult {
  try {
    return normalizeParsed(msg);
  } catch (err) {
    // Only reachable with exotic inputs (proxies, throwing getters); the contract is "never throws".
    return { kind: 'invalid', reason: `unreadable change event: ${err instanceof Error ? err.message : String(err)}` };
  }
}
