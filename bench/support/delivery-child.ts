/**
 * The delivery bench's outside world, in a process of its own so that neither
 * costs the measured instance CPU: a webhook receiver answering 204 at once
 * (receipt time per `webhook-id`), and the feeder that produces synthetic valid
 * events straight to `<prefix>.events` the way the publisher does
 * (`toKafkaMessage`), so the measurement starts at Kafka and isolates delivery.
 *
 * Each produced message carries its own CreateTime, stamped just before the
 * produce request: latency = receipt − that stamp, both on this process's clock.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/core/log.js';
import type { ForcehookEvent } from '../../src/events/schema.js';
import { createKafka, kafkaSecurityFromEnv } from '../../src/kafka/index.js';
import type { KafkaMessage } from '../../src/kafka/types.js';
import { toKafkaMessage } from '../../src/publish/message.js';

const [brokersArg, prefix] = process.argv.slice(2) as [string, string];
const logger = createLogger({ name: 'bench-delivery', level: 'fatal' });
const client = createKafka({ brokers: brokersArg.split(','), clientId: `delivery-feeder-${prefix}`, logger, ...kafkaSecurityFromEnv() });
const producer = client.producer();
const topic = `${prefix}.events`;

/** webhook-id → first receipt (ms); id → produce stamp (ms). */
const receivedAt = new Map<string, number>();
const sentAt = new Map<string, number>();
let received = 0;
let firstAt = 0;
let lastAt = 0;

const receiver = createServer((req, res) => {
  const id = req.headers['webhook-id'];
  req.resume();
  req.on('end', () => {
    const now = Date.now();
    received++;
    if (firstAt === 0) firstAt = now;
    lastAt = now;
    if (typeof id === 'string' && !receivedAt.has(id)) receivedAt.set(id, now);
    res.writeHead(204).end();
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

interface Org {
  orgId: string;
  connectionId: string;
  objects: string[];
}

let seq = 0;
/** A valid record.created event of about the size the pipeline publishes (~1 kB of CloudEvent JSON). */
function syntheticEvent(org: Org): ForcehookEvent {
  const n = seq++;
  const recordId = `00Q${'B'.repeat(4)}${String(n % 100_000_000).padStart(8, '0')}AAA`;
  const commit = Date.now();
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: `/salesforce/${org.orgId}`,
    type: 'salesforce.record.created',
    subject: recordId,
    time: new Date(commit).toISOString(),
    datacontenttype: 'application/json',
    data: {
      orgId: org.orgId,
      connectionId: org.connectionId,
      object: org.objects[n % org.objects.length]!,
      recordId,
      changeType: 'CREATE',
      changedFields: [],
      record: {
        Id: recordId,
        FirstName: `Bench ${n}`,
        LastName: 'Delivery',
        Company: 'Forcehook Benchmarks Incorporated',
        Email: `bench.${n}@example.com`,
        Phone: '+1 415 555 0100',
        Status: 'Open - Not Contacted',
        LeadSource: 'Web',
        Street: '1 Market Street, Suite 300',
        City: 'San Francisco',
        State: 'CA',
        PostalCode: '94105',
        Country: 'United States',
        Description: 'A synthetic record of the delivery benchmark, about as large as an emulator change.',
        OwnerId: '005000000000001AAA',
        CreatedDate: new Date(commit).toISOString(),
        LastModifiedDate: new Date(commit).toISOString(),
        SystemModstamp: new Date(commit).toISOString(),
      },
      detectedBy: 'cdc',
      commitTimestamp: commit,
      commitNumber: String(1_000_000 + n),
      transactionKey: randomUUID(),
      sequenceNumber: 1,
      changeOrigin: 'com/salesforce/api/soap/61.0;client=bench',
      commitUser: '005000000000001AAA',
    },
  };
}

function stamped(events: ForcehookEvent[], at: number): KafkaMessage[] {
  return events.map((e) => {
    sentAt.set(e.id, at);
    return { ...toKafkaMessage(e), timestamp: String(at) };
  });
}

/** As fast as Kafka takes them, 500 per request. */
async function backlog(org: Org, n: number): Promise<{ ms: number; bodyBytes: number }> {
  const t = Date.now();
  for (let i = 0; i < n; i += 500) {
    const events = Array.from({ length: Math.min(500, n - i) }, () => syntheticEvent(org));
    await producer.send(topic, stamped(events, Date.now()));
  }
  return { ms: Date.now() - t, bodyBytes: sampleBodyBytes(org) };
}

/** `rate` events/s for `seconds`, one produce every 10 ms (not waiting for the previous ack: a steady source). */
async function steady(org: Org, rate: number, seconds: number): Promise<{ produced: number; ids: string[] }> {
  const tickMs = 10;
  const t0 = Date.now();
  const ids: string[] = [];
  const sends: Promise<unknown>[] = [];
  let produced = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate) - produced;
    if (due > 0) {
      const events = Array.from({ length: due }, () => syntheticEvent(org));
      for (const e of events) ids.push(e.id);
      produced += due;
      sends.push(producer.send(topic, stamped(events, Date.now())));
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.all(sends);
  return { produced, ids };
}

function sampleBodyBytes(org: Org): number {
  const e = syntheticEvent(org);
  const m = toKafkaMessage(e);
  return Buffer.byteLength(JSON.stringify({ ...e, partitionkey: m.key }));
}

let steadyIds: string[] = [];

process.on('message', (m: { id: string; op: string; org?: Org; n?: number; rate?: number; seconds?: number }) => {
  const reply = (result: unknown) => process.send!({ id: m.id, result });
  const fail = (err: unknown) => process.send!({ id: m.id, error: String(err) });
  if (m.op === 'sample') reply(syntheticEvent(m.org!));
  else if (m.op === 'backlog') backlog(m.org!, m.n!).then(reply, fail);
  else if (m.op === 'steady')
    steady(m.org!, m.rate!, m.seconds!).then((r) => {
      steadyIds = r.ids;
      reply({ produced: r.produced });
    }, fail);
  else if (m.op === 'received') reply({ received, firstAt, lastAt, distinct: receivedAt.size });
  else if (m.op === 'reset') {
    received = 0;
    firstAt = 0;
    lastAt = 0;
    reply(true);
  } else if (m.op === 'latencies') {
    // Receipt − produce stamp of every event of the steady phase; missing ones are counted, not guessed.
    const lat: number[] = [];
    let missing = 0;
    for (const id of steadyIds) {
      const r = receivedAt.get(id);
      const s = sentAt.get(id);
      if (r === undefined || s === undefined) missing++;
      else lat.push(r - s);
    }
    reply({ lat: lat.sort((a, b) => a - b), missing });
  } else fail(`unknown op ${m.op}`);
});

let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  receiver.close();
  receiver.closeAllConnections();
  void producer
    .close()
    .then(() => client.close())
    .finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on('SIGTERM', close);
process.on('disconnect', close);
process.send!({ event: 'ready', hookUrl });
