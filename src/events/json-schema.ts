/**
 * JSON Schema of the published event, generated from the zod schema so that `docs/event.schema.json`
 * can never describe something other than what we validate. Regenerate after changing `schema.ts`:
 *
 *   npx tsx src/events/json-schema.ts > docs/event.schema.json
 *
 * (`json-schema.test.ts` fails while the committed file is stale.)
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { forcehookEventSchema } from './schema.js';

export const EVENT_SCHEMA_ID = 'https://forcehook.dev/schemas/event.schema.json';

export function eventJsonSchema(): Record<string, unknown> {
  // Refinements (subject == recordId, ...) are runtime-only; the JSON Schema states the shape.
  const schema = z.toJSONSchema(forcehookEventSchema, { target: 'draft-2020-12', unrepresentable: 'throw' });
  return { ...schema, $id: EVENT_SCHEMA_ID };
}

/** The exact text committed as docs/event.schema.json. */
export function eventJsonSchemaText(): string {
  return `${JSON.stringify(eventJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(eventJsonSchemaText());
}
