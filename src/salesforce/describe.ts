/**
 * Field lists for the objects a poller or reconcile needs, describing the missing ones in as few calls
 * as possible: describes are plain GETs, so 25 of them fit in one composite request.
 */
import type { ForcehookError } from '../core/errors.js';
import type { OrgSession } from './session.js';
import { describeCache, describeKey, fieldsFromDescribe, type ObjectFields } from './fields.js';
import { composite, COMPOSITE_MAX_SUBREQUESTS, isLimitError, subError, type RestOptions } from './rest.js';
import { describePath } from './soql.js';

export type DescribeResult = { ok: true; fields: ObjectFields } | { ok: false; error: ForcehookError };

/**
 * Throws only for failures of the whole request (limits, network); an object the org does not know
 * comes back as `{ok: false}` so that one bad subscription does not stop the others.
 */
export async function describeObjects(session: OrgSession, objects: readonly string[], opts: RestOptions = {}): Promise<Map<string, DescribeResult>> {
  const out = new Map<string, DescribeResult>();
  const missing: string[] = [];
  for (const o of objects) {
    const hit = describeCache.get(describeKey(session.orgId, o));
    if (hit) out.set(o, { ok: true, fields: hit });
    else missing.push(o);
  }
  for (let i = 0; i < missing.length; i += COMPOSITE_MAX_SUBREQUESTS) {
    const chunk = missing.slice(i, i + COMPOSITE_MAX_SUBREQUESTS);
    const subs = chunk.map((o, j) => ({ referenceId: `describe${j}`, url: describePath(session.apiVersion, o) }));
    const res = await composite(session, subs, opts);
    chunk.forEach((o, j) => {
      const r = res.get(`describe${j}`);
      const err = subError(r, `describe ${o}`);
      if (err) {
        if (isLimitError(err)) throw err;
        out.set(o, { ok: false, error: err });
        return;
      }
      try {
        const fields = fieldsFromDescribe(r!.body);
        describeCache.set(describeKey(session.orgId, o), fields);
        out.set(o, { ok: true, fields });
      } catch (e) {
        out.set(o, { ok: false, error: e as ForcehookError });
      }
    });
  }
  return out;
}

export function forgetDescribe(session: OrgSession, object: string): void {
  describeCache.delete(describeKey(session.orgId, object));
}
