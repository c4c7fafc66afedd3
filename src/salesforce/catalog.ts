/**
 * What an org offers to map: its objects (describeGlobal) and an object's fields with their labels
 * (describe), custom ones included, for the connect page's choices.
 */
import { call } from './rest.js';
import type { OrgSession } from './session.js';

export interface Choice {
  name: string;
  label: string;
  custom: boolean;
}

interface GlobalDescribe {
  sobjects?: { name?: unknown; label?: unknown; custom?: unknown; queryable?: unknown; retrieveable?: unknown }[];
}
interface ObjectDescribe {
  name?: unknown;
  fields?: { name?: unknown; label?: unknown; custom?: unknown; type?: unknown }[];
}

/** Objects whose records a person would map: queryable ones, not the change-event, history, share or feed companions. */
const COMPANION = /(ChangeEvent|History|Share|Feed|Tag)$/;

export async function listObjects(session: OrgSession): Promise<Choice[]> {
  const body = await call<GlobalDescribe>(session, { method: 'GET', url: `/services/data/v${session.apiVersion}/sobjects` });
  return (body.sobjects ?? [])
    .filter((o) => typeof o.name === 'string' && o.queryable !== false && !COMPANION.test(o.name))
    .map((o) => ({ name: o.name as string, label: typeof o.label === 'string' ? o.label : (o.name as string), custom: o.custom === true }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

export async function listFieldChoices(session: OrgSession, object: string): Promise<{ object: string; fields: Choice[] }> {
  const body = await call<ObjectDescribe>(session, {
    method: 'GET',
    url: `/services/data/v${session.apiVersion}/sobjects/${encodeURIComponent(object)}/describe`,
  });
  const fields = (body.fields ?? [])
    .filter((f) => typeof f.name === 'string' && f.type !== 'address' && f.type !== 'location' && f.type !== 'base64')
    .map((f) => ({ name: f.name as string, label: typeof f.label === 'string' ? f.label : (f.name as string), custom: f.custom === true }))
    .sort((a, b) => a.label.localeCompare(b.label));
  return { object: typeof body.name === 'string' ? body.name : object, fields };
}
