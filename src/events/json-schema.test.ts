import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventJsonSchema, eventJsonSchemaText } from './json-schema.js';

describe('docs/event.schema.json', () => {
  it('is the schema generated from src/events/schema.ts (regenerate: npx tsx src/events/json-schema.ts > docs/event.schema.json)', () => {
    const committed = readFileSync(new URL('../../docs/event.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(eventJsonSchemaText());
  });

  it('describes every trigger and the data attributes of an event', () => {
    const schema = eventJsonSchema() as {
      $defs: Record<string, { properties: Record<string, { type?: unknown; enum?: unknown; items?: unknown; [k: string]: unknown }>; required: string[] }>;
    };
    const event = schema.$defs['ForcehookEvent']!;
    expect(event.required).toEqual(expect.arrayContaining(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data']));
    expect(event.properties['type']?.enum).toHaveLength(6);
    const data = schema.$defs['ForcehookEventData']!;
    expect(data.required).toEqual(
      expect.arrayContaining(['orgId', 'connectionId', 'object', 'recordId', 'changeType', 'changedFields', 'record', 'detectedBy', 'commitTimestamp']),
    );
    expect(data.properties['commitNumber']?.type).toBe('string');
  });
});
