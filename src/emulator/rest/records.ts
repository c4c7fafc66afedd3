/** Records as REST returns them: `attributes` first, then every field in describe order, nulls included. */
import { withFormulas, type ObjectMeta } from '../metadata/objects.js';
import type { Row } from '../store.js';

export function recordUrl(version: string, object: string, id: string): string {
  return `/services/data/v${version}/sobjects/${object}/${id}`;
}

export function toRest(meta: ObjectMeta, row: Row, version: string, only?: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: { type: meta.name, url: recordUrl(version, meta.name, row.id) } };
  const names = only ?? meta.fields.map((f) => f.name);
  const values = withFormulas(meta, row.values);
  for (const name of names) out[name] = values[name] ?? null;
  return out;
}
