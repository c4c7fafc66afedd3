/**
 * The shape of a CDC message as faye hands it to a channel listener. Everything arrives
 * from the network, so it is validated before anything is read; the schema is deliberately tolerant of
 * what Salesforce varies (field order, `changedFields` absent, `isTransactionEnd` only on old API
 * versions, commitNumber as number or string) and strict about what we rely on.
 */
import { z } from 'zod';

export const CDC_CHANGE_TYPES = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'] as const;

/** API names: letters, digits, underscores, starting with a letter (custom: `Foo__c`, namespaced `ns__Foo__c`). */
export const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,254}$/;
/** A record id, or (gap events only) a key-prefix wildcard such as `001*` for field type conversions. */
const RECORD_ID_OR_WILDCARD = /^(?:[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18}|[a-zA-Z0-9]{3}\*)$/;

const replayIdSchema = z.union([z.number().int(), z.string().regex(/^-?\d{1,40}$/)]);

export const changeEventHeaderSchema = z.looseObject({
  entityName: z.string().regex(FIELD_NAME),
  recordIds: z.array(z.string().regex(RECORD_ID_OR_WILDCARD)).min(1).max(100_000),
  changeType: z.enum(CDC_CHANGE_TYPES),
  changeOrigin: z.string().nullish(),
  transactionKey: z.string().nullish(),
  sequenceNumber: z.number().int().nonnegative().nullish(),
  commitTimestamp: z.number().int().nonnegative().max(8.64e15),
  commitNumber: z.union([z.number(), z.string()]).nullish(),
  commitUser: z.string().nullish(),
  changedFields: z.array(z.string().max(512)).nullish(),
  /** Not sent over CometD by current orgs; accepted as Pub/Sub and Apex name it, with field names. */
  nulledFields: z.array(z.string().max(512)).nullish(),
  isTransactionEnd: z.boolean().nullish(),
});
export type ChangeEventHeader = z.infer<typeof changeEventHeaderSchema>;

export const cdcMessageSchema = z.looseObject({
  channel: z.string().startsWith('/'),
  data: z.looseObject({
    schema: z.string().nullish(),
    payload: z.looseObject({ ChangeEventHeader: changeEventHeaderSchema }),
    event: z.looseObject({ replayId: replayIdSchema }),
  }),
});
export type CdcMessage = z.infer<typeof cdcMessageSchema>;

/** Best effort, for error reports: the replayId of a message that failed validation. */
export function peekReplayId(msg: unknown): string | undefined {
  const r = replayIdSchema.safeParse((msg as { data?: { event?: { replayId?: unknown } } } | null)?.data?.event?.replayId);
  return r.success ? String(r.data) : undefined;
}
