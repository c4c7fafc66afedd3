/**
 * What a followed org looks like at run time: the subscriber's state, each
 * object's mode and the conditions that change how the org is followed. The
 * supervisor and the source manager produce it; the API shows it as part of a
 * connection, and the OpenAPI document describes it with these same schemas.
 */
import { z } from 'zod';

export const ObjectStatusSchema = z.object({
  object: z.string(),
  mode: z.enum(['cdc', 'polling']),
  lastEventAt: z.iso.datetime().nullable(),
});

export const ConnectionWarningSchema = z.object({
  code: z
    .string()
    .describe('e.g. event_allocation_exhausted, streaming_client_limit, missing_permission_view_setup, missing_permission_view_all_data, object_read_refused'),
  message: z.string(),
  since: z.iso.datetime(),
});

export const ConnectionStatusSchema = z.object({
  subscriber: z.string().describe('org subscriber state on this instance (pending, resolving, running, needs_reauth, stopped, ...)'),
  objects: z.array(ObjectStatusSchema),
  apiUsage: z
    .object({ used: z.number().int(), limit: z.number().int() })
    .optional()
    .describe("the org's REST API requests in the rolling 24 h, as Salesforce last reported them to the instance that follows the org"),
  warnings: z
    .array(ConnectionWarningSchema)
    .describe('conditions that do not stop the connection but change how it is followed (an exhausted event allocation, a missing permission, ...)'),
});

export type ObjectStatus = z.infer<typeof ObjectStatusSchema>;
export type ConnectionWarning = z.infer<typeof ConnectionWarningSchema>;
export type ConnectionStatusView = z.infer<typeof ConnectionStatusSchema>;

/** Runtime view of a followed org, from whichever part of the service follows it. */
export interface ConnectionRuntime {
  status(connectionId: string): ConnectionStatusView | undefined;
}
