/**
 * An event must fit in one Kafka message: the broker refuses a message past its `message.max.bytes`
 * (1 MiB by default) and the producer cuts requests at 768 KiB. A record with long text areas read back
 * through REST (a gap event sent because the change passed Salesforce's 1 MB) can exceed that; published
 * as it is, it would be refused again and again and hold up everything behind it. Its largest text values
 * are left out instead, named in `omittedFields`, for a consumer to read through the REST API.
 */
import type { ForcehookEventData } from '../events/schema.js';

/** The event's `data` JSON, leaving room for the CloudEvents headers and the key under the request cap. */
export const MAX_DATA_BYTES = 700 * 1024;

export function fitRecord(data: ForcehookEventData, maxBytes = MAX_DATA_BYTES): void {
  let size = Buffer.byteLength(JSON.stringify(data), 'utf8');
  if (size <= maxBytes) return;
  const largest = Object.entries(data.record)
    .filter(([k, v]) => k !== 'Id' && typeof v === 'string')
    .map(([k, v]) => [k, Buffer.byteLength(JSON.stringify(v), 'utf8')] as const)
    .sort((a, b) => b[1] - a[1]);
  const record = { ...data.record };
  const omitted: string[] = [];
  for (const [field, bytes] of largest) {
    if (size <= maxBytes) break;
    delete record[field];
    omitted.push(field);
    size -= bytes;
  }
  data.record = record;
  data.omittedFields = omitted.sort();
}
