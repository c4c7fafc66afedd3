/**
 * Checks what a subscription names against the org itself, at creation: an
 * object the org does not have, or a misspelt field to filter updates on,
 * would otherwise make a subscription that is accepted and never fires.
 */
import { ForcehookError, TransientError, ValidationError, isReauthRequired } from '../core/errors.js';
import { snippet } from '../net/salesforce-egress.js';
import { describeObjects, forgetDescribe } from './describe.js';
import type { ObjectFields } from './fields.js';
import type { OrgSession } from './session.js';

export interface CheckedObject {
  /** The org's spelling (`Invoice__c` for `invoice__c`). */
  object: string;
  /** The org's spelling of each field; `Parent.Part` keeps its part as given (CDC names compound parts so). */
  fields?: string[];
}

export type ObjectResolver = (connectionId: string, object: string, fields?: readonly string[]) => Promise<CheckedObject>;

/** `session` gives the connection's org session, or throws why there is none (deleted, needs re-authorization). */
export function createObjectResolver(deps: { session(connectionId: string): OrgSession }): ObjectResolver {
  return async (connectionId, object, fields) => {
    let described: ObjectFields;
    try {
      const result = (await describeObjects(deps.session(connectionId), [object])).get(object);
      if (!result) throw new TransientError('SALESFORCE', 'describe: no answer');
      if (!result.ok) throw result.error;
      described = result.fields;
    } catch (err) {
      throw asApiError(err, object);
    }
    return { object: described.object, ...(fields ? { fields: fields.map((f) => canonicalField(described, f)) } : {}) };
  };
}

/** Every field of an object as the org describes it now (not from the describe cache). */
export type FieldLister = (connectionId: string, object: string) => Promise<{ object: string; fields: string[] }>;

export function createFieldLister(deps: { session(connectionId: string): OrgSession }): FieldLister {
  return async (connectionId, object) => {
    try {
      const session = deps.session(connectionId);
      forgetDescribe(session, object);
      const result = (await describeObjects(session, [object])).get(object);
      if (!result) throw new TransientError('SALESFORCE', 'describe: no answer');
      if (!result.ok) throw result.error;
      return { object: result.fields.object, fields: [...result.fields.fields, ...result.fields.unselected] };
    } catch (err) {
      throw asApiError(err, object);
    }
  };
}

function canonicalField(d: ObjectFields, field: string): string {
  const dot = field.indexOf('.');
  const parent = (dot < 0 ? field : field.slice(0, dot)).toLowerCase();
  const part = dot < 0 ? undefined : field.slice(dot + 1);
  const found = d.fields.find((n) => n.toLowerCase() === parent) ?? d.unselected.find((n) => n.toLowerCase() === parent);
  if (!found || part === '') {
    const message = `${d.object} has no field '${field}'`;
    throw new ValidationError(`body.fields: ${message}`, [{ path: 'fields', message }]);
  }
  return part === undefined ? found : `${found}.${part}`;
}

function asApiError(err: unknown, object: string): ForcehookError {
  if (isReauthRequired(err)) {
    return new ForcehookError('CONFLICT', `the connection needs re-authorization before '${object}' can be checked against its org`, { status: 409 });
  }
  if (err instanceof ForcehookError && err.code === 'NOT_FOUND') return new ValidationError(`body.connectionId: ${err.message}`); // deleted meanwhile
  // Salesforce's own answer for an object the org does not have (NOT_FOUND, INVALID_TYPE), or one that
  // cannot be followed at all (no SystemModstamp): not something a retry changes.
  if (err instanceof ForcehookError && !err.retriable) {
    const message = `the org has no object '${object}' that can be followed (${err.message})`;
    return new ValidationError(`body.object: ${message}`, [{ path: 'object', message }]);
  }
  const message = snippet(err instanceof Error ? err.message : String(err));
  return new ForcehookError('SALESFORCE', `could not check '${object}' against the org, retry shortly: ${message}`, {
    status: 503,
    retriable: true,
    cause: err,
  });
}
