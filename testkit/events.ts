/**
 * The events side of a test: a reader of `<prefix>.events` (parsed with the cloudevents SDK, as a consumer
 * would), the events the emulator's change log promises, and synthetic events published as the publisher does.
 * No vitest import: the chaos runner uses this under plain tsx.
 */
import { randomUUID } from 'node:crypto';
import { testLogger } from '../src/core/log.js';
import type { RunningEmulator } from '../src/emulator/server.js';
import type { OrgCredentials } from '../src/emulator/admin-client.js';
import { cdcEventId } from '../src/events/id.js';
import type { EventType, ForcehookEvent } from '../src/events/schema.js';
import { createKafka, topicSpecs, topics } from '../src/kafka/index.js';
import type { ConsumedMessage, KafkaClient } from '../src/kafka/types.js';
import { fromKafkaMessage, toKafkaMessage } from '../src/publish/message.js';
import { waitFor } from './wait.js';

export interface ReceivedEvent {
  id: string;
  type: string;
  subject: string;
  source: string;
  time: string;
  key: string | null;
  /** What the change is, independent of its id: `type subject commitTimestamp`. */
  content: string;
  data: {
    orgId: string;
    connectionId: string;
    object: string;
    recordId: string;
    changeType: string;
    changedFields: string[];
    record: Record<string, unknown>;
    detectedBy: string;
    commitTimestamp: number;
    campaignId?: string;
    leadId?: string;
    contactId?: string;
    opportunityId?: string;
    [k: string]: unknown;
  };
}

export interface EventsReader {
  events: ReceivedEvent[];
  raw: ConsumedMessage[];
  /** Waits until `pred` holds over the events read so far; the timeout names what was read. */
  waitFor(pred: (e: ReceivedEvent[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Reads `<prefix>.events` from the beginning. */
export async function readEvents(prefix: string, brokers: string[]): Promise<EventsReader> {
  const client: KafkaClient = createKafka({ brokers, clientId: `reader-${prefix}`, logger: testLogger() });
  const consumer = client.consumer(`${prefix}.reader-${randomUUID().slice(0, 8)}`, { maxWaitTimeMs: 100 });
  const events: ReceivedEvent[] = [];
  const raw: ConsumedMessage[] = [];
  // The reader may start before the service created its topics: create them the same way.
  await client.admin().ensureTopics(topicSpecs(topics(prefix), []));
  await consumer.subscribe([`${prefix}.events`], { fromBeginning: true });
  await consumer.run({
    eachBatch: async (batch) => {
      for (const m of batch.messages) {
        raw.push(m);
        const ce = fromKafkaMessage(m);
        const data = ce.data as ReceivedEvent['data'];
        events.push({
          id: ce.id,
          type: ce.type,
          subject: ce.subject!,
          source: ce.source,
          time: ce.time!,
          key: m.key,
          content: `${ce.type} ${ce.subject} ${data.commitTimestamp}`,
          data,
        });
      }
    },
  });
  return {
    events,
    raw,
    async waitFor(pred, timeoutMs = 30_000, what = 'events') {
      if (!(await waitFor(() => pred(events), timeoutMs))) {
        throw new Error(
          `timed out waiting for ${what}; got ${events.length}: ${events.map((e) => `${e.type}/${e.data.object}/${e.data.detectedBy}`).join(', ')}`,
        );
      }
    },
    async stop() {
      await consumer.stop();
      await client.close();
    },
  };
}

const TYPE_OF: Record<string, EventType> = {
  CREATE: 'salesforce.record.created',
  UPDATE: 'salesforce.record.updated',
  DELETE: 'salesforce.record.deleted',
  UNDELETE: 'salesforce.record.undeleted',
};

/** The events the contract promises (id → "type recordId") for every Lead change the emulator committed to `org`. */
export function expectedLeadEvents(emulator: RunningEmulator, org: OrgCredentials): Map<string, string> {
  const out = new Map<string, string>();
  for (const ev of emulator.emulator.org(org.orgId)!.bus.eventsAfter(0)) {
    const h = (
      ev.payload as {
        ChangeEventHeader: {
          entityName: string;
          recordIds: string[];
          changeType: string;
          commitTimestamp: number;
          transactionKey?: string;
          sequenceNumber?: number;
        };
      }
    ).ChangeEventHeader;
    if (h.entityName !== 'Lead' || !TYPE_OF[h.changeType]) continue;
    for (const recordId of h.recordIds) {
      const type = TYPE_OF[h.changeType]!;
      const { commitTimestamp, transactionKey, sequenceNumber } = h;
      out.set(
        cdcEventId({ orgId: org.orgId, recordId, type, commitTimestamp, transactionKey, sequenceNumber, replayId: String(ev.replayId) }),
        `${type} ${recordId}`,
      );
    }
  }
  return out;
}

/** A valid event of `connectionId` for record number `n` (ids are deterministic per n and suffix). */
export function syntheticEvent(
  org: { orgId: string; connectionId: string },
  n: number,
  opts: { object?: string; recordSuffix?: string; type?: 'created' | 'updated' } = {},
): ForcehookEvent {
  const recordId = `00Q${(opts.recordSuffix ?? 'AAAA').padEnd(4, 'A').slice(0, 4)}${String(n).padStart(8, '0')}AAA`;
  const commit = Date.now();
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: `/salesforce/${org.orgId}`,
    type: `salesforce.record.${opts.type ?? 'created'}`,
    subject: recordId,
    time: new Date(commit).toISOString(),
    datacontenttype: 'application/json',
    data: {
      orgId: org.orgId,
      connectionId: org.connectionId,
      object: opts.object ?? 'Lead',
      recordId,
      changeType: opts.type === 'updated' ? 'UPDATE' : 'CREATE',
      changedFields: [],
      record: { Id: recordId, LastName: `Test ${n}` },
      detectedBy: 'cdc',
      commitTimestamp: commit,
    },
  };
}

/** Publishes events to `<prefix>.events` as the publisher does (binary CloudEvents, key per record). */
export async function produceEvents(prefix: string, events: ForcehookEvent[], brokers: string[]): Promise<void> {
  const kafka = createKafka({ brokers, clientId: `events-${prefix}`, logger: testLogger() });
  try {
    await kafka.producer().send(`${prefix}.events`, events.map(toKafkaMessage));
  } finally {
    await kafka.close();
  }
}
