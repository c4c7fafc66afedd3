/**
 * The headline figures of one `npm run bench`, brought together from the benches'
 * results: each with its unit, the bench and field it comes from, and,
 * where the issues set one, its target and whether it was met. Only derived, never
 * measured here; a bench that did not run (BENCH_ONLY) gives no entry, one that
 * failed is listed under `failed`.
 */
import type { Figures } from './lib.js';

export interface Headline {
  value: number | null;
  unit: string;
  /** `<bench>: <path>` of the figure in `results`. */
  from: string;
  target?: string;
  met?: boolean;
  /** What else the reader needs to read the figure (sizes of a quick run, the other side of a ratio). */
  note?: string;
}

type Target = { op: '≥' | '≤' | '<'; bound: number };

function get(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function headline(
  bench: string,
  r: Figures,
  path: string,
  unit: string,
  target?: Target,
  extra: { value?: number | null; met?: boolean; note?: string } = {},
): Headline {
  const value = 'value' in extra ? (extra.value ?? null) : num(get(r, path));
  const h: Headline = { value, unit, from: `${bench}: ${path}` };
  if (target) {
    h.target = `${target.op} ${target.bound}`;
    h.met = extra.met ?? (value !== null && (target.op === '≥' ? value >= target.bound : target.op === '≤' ? value <= target.bound : value < target.bound));
  }
  if (extra.note) h.note = extra.note;
  return h;
}

export function headlineFigures(results: Readonly<Record<string, Figures>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const failed: Record<string, string> = {};
  const ran = (name: string): Figures | undefined => {
    const r = results[name];
    if (!r) return undefined;
    if ('error' in r) {
      failed[name] = String(r.error);
      return undefined;
    }
    return r;
  };

  const tp = ran('pipeline-throughput');
  if (tp) {
    const b = 'pipeline-throughput';
    const kcat = get(tp, 'kcat') as Record<string, unknown> | undefined;
    out.publish = {
      oursCatchupEventsPerS: headline(
        b,
        tp,
        'catchup.eventsPerS',
        'events/s',
        { op: '≥', bound: 5_000 },
        { note: "commit → Kafka, a backlog replayed: the pipeline's capacity" },
      ),
      oursLiveEventsPerS: headline(b, tp, 'live.eventsPerS', 'events/s', undefined, {
        note: `bounded by the generator too (${String(get(tp, 'live.generatedEventsPerS'))} ev/s generated)`,
      }),
      rawKafkajsEventsPerS: headline(b, tp, 'rawKafkajs.eventsPerS', 'events/s', undefined, {
        note: "the client's limit: same messages, bare kafkajs, idempotent, 1 in flight",
      }),
      kcatEventsPerS:
        kcat && 'skipped' in kcat
          ? { value: null, unit: 'events/s', from: `${b}: kcat`, note: `skipped: ${String(kcat.skipped)}` }
          : kcat && 'error' in kcat
            ? { value: null, unit: 'events/s', from: `${b}: kcat`, note: `failed: ${String(kcat.error)}` }
            : headline(b, tp, 'kcat.eventsPerS', 'events/s', undefined, { note: "the broker's limit on this machine: same messages, librdkafka" }),
      kafkaClient: get(tp, 'kafkaClient') ?? 'kafkajs',
      rawClientEventsPerS: headline(b, tp, 'rawClient.eventsPerS', 'events/s', undefined, {
        note: "the instance's client library, bare, same messages and produce settings",
      }),
      ratioCatchupToRawClient: headline(b, tp, 'ratioCatchupToRaw', 'ratio', { op: '≥', bound: 0.8 }),
      ratioCatchupToRawKafkajs: headline(b, tp, get(tp, 'ratioCatchupToRawKafkajs') === undefined ? 'ratioCatchupToRaw' : 'ratioCatchupToRawKafkajs', 'ratio'),
      ratioCatchupToKcat: headline(b, tp, 'ratioCatchupToKcat', 'ratio'),
      ratioRawKafkajsToKcat: headline(b, tp, 'ratioRawToKcat', 'ratio'),
      messages: num(get(tp, 'rawKafkajs.messages')),
      avgMessageBytes: num(get(tp, 'rawKafkajs.avgMessageBytes')),
    };
  }

  const lat = ran('pipeline-latency');
  if (lat) {
    const b = 'pipeline-latency';
    out.latency = {
      commitToKafkaAckP50Ms: headline(b, lat, 'sourceOnly.commitToAckMs.p50', 'ms', undefined, { note: 'instance with roles=source' }),
      commitToKafkaAckP99Ms: headline(
        b,
        lat,
        'sourceOnly.commitToAckMs.p99',
        'ms',
        { op: '≤', bound: 250 },
        {
          met: get(lat, 'sourceOnly.met') === true,
          note: `instance with roles=source; interpolated in the histogram bucket, met by the bucket bound (p99 ≤ ${String(get(lat, 'sourceOnly.commitToAckMs.p99BucketLe'))} ms)`,
        },
      ),
      commitToKafkaAckP99MsAllRoles: headline(b, lat, 'allRoles.commitToAckMs.p99', 'ms', undefined, {
        note: 'instance with both roles, delivering every event on the same event loop',
      }),
      commitToWebhookP50Ms: headline(b, lat, 'allRoles.commitToWebhookMs.p50', 'ms', undefined, { note: 'no separate target; instance with both roles' }),
      commitToWebhookP99Ms: headline(b, lat, 'allRoles.commitToWebhookMs.p99', 'ms', undefined, {
        note: `no separate target; ${String(get(lat, 'allRoles.commitToWebhookMs.samples'))} receipts, ${String(get(lat, 'allRoles.commitToWebhookMs.missing'))} missing`,
      }),
      rateChangesPerS: num(get(lat, 'allRoles.targetChangesPerS')),
    };
  }

  const del = ran('delivery');
  if (del) {
    const b = 'delivery';
    out.delivery = {
      deliveriesPerS: headline(b, del, 'throughput.deliveriesPerS', 'deliveries/s'),
      rawUndiciPerS: headline(b, del, 'rawUndici.medianPerS', 'requests/s'),
      ratioToRaw: headline(b, del, 'ratioToRaw', 'ratio', { op: '≥', bound: 0.8 }),
      ratioToRawDispatch: headline(b, del, 'ratioToRawDispatch', 'ratio'),
      kafkaToReceiptP50Ms: headline(b, del, 'latency.kafkaToReceiptMs.p50', 'ms'),
      kafkaToReceiptP99Ms: headline(b, del, 'latency.kafkaToReceiptMs.p99', 'ms', { op: '≤', bound: 100 }),
    };
  }

  const poll = ran('polling-api-calls');
  if (poll) {
    const b = 'polling-api-calls';
    out.polling = {
      callsPerCycle: headline(
        b,
        poll,
        'callsPerCycle',
        'API calls per poll cycle',
        { op: '≤', bound: 1 },
        { note: `${String((get(poll, 'watchedObjects') as unknown[] | undefined)?.length)} watched objects, no changes` },
      ),
      callsPerHourAtDefault30s: headline(b, poll, 'callsPerHourAtDefault30s', 'API calls per org per hour'),
    };
  }

  const org = ran('org-scale');
  if (org) {
    const b = 'org-scale';
    const orgs = num(get(org, 'orgs'));
    const note = `${String(orgs)} followed orgs${orgs !== null && orgs < 2_000 ? ' (quick run: not 2,000)' : ''}`;
    out.orgScale = {
      orgs,
      memoryPerFollowedOrgRssKiB: headline(b, org, 'perOrg.rssKiB', 'KiB', undefined, { note: `RSS after GC over the instance before any org; ${note}` }),
      memoryPerFollowedOrgHeapKiB: headline(b, org, 'perOrg.heapKiB', 'KiB', undefined, { note }),
      rssMiB: headline(b, org, 'steady.rssMiB', 'MiB', { op: '<', bound: 1_024 }, { note }),
      idleCpuPercentOfCore: headline(
        b,
        org,
        'idle.cpuCore',
        '% of a core',
        { op: '<', bound: 10 },
        {
          value: num(get(org, 'idle.cpuCore')) === null ? null : Math.round(num(get(org, 'idle.cpuCore'))! * 1000) / 10,
          note: `${note}; ${String(Math.round((num(get(org, 'idle.withoutOrgsCpuCore')) ?? NaN) * 1000) / 10)} % with no org`,
        },
      ),
      allFollowingS: headline(b, org, 'allFollowingS', 's'),
    };
  }

  const em = ran('emulator-scale');
  if (em) {
    const b = 'emulator-scale';
    const orgs = num(get(em, 'orgs'));
    const target = num(get(em, 'targetEventsPerS')) ?? 2_000;
    out.emulator = {
      orgs,
      generatedEventsPerS: headline(b, em, 'generatedEventsPerS', 'events/s', { op: '≥', bound: Math.round(target * 0.95) }),
      receivedEventsPerS: headline(
        b,
        em,
        'receivedEventsPerS',
        'events/s',
        { op: '≥', bound: Math.round(target * 0.95) },
        { note: `by ${String(get(em, 'clientsConnected'))} streaming clients` },
      ),
      commitToClientP99Ms: headline(b, em, 'deliveryLatencyMs.p99', 'ms'),
      heapKiBPerOrgWithClient: headline(b, em, 'emulatorHeapKiBPerOrgWithClient', 'KiB'),
      cpuCoresUnderLoad: headline(b, em, 'emulatorCpuCoresUnderLoad', 'cores'),
    };
  }

  if (Object.keys(failed).length > 0) out.failed = failed;
  const mets = collectMet(out);
  out.targets = { met: mets.filter(Boolean).length, of: mets.length };
  return out;
}

function collectMet(o: unknown): boolean[] {
  if (o === null || typeof o !== 'object') return [];
  if ('met' in o && typeof (o as Headline).met === 'boolean' && 'unit' in o) return [(o as Headline).met!];
  return Object.values(o).flatMap(collectMet);
}
