/** The route table of `/services/data/vNN.N/…`, shared by HTTP and composite subrequests. */
import limitsTemplate from '../metadata/limits.json' with { type: 'json' };
import { errors, sfError } from '../sf-errors.js';
import type { RestCall, RestResult } from './call.js';
import { collectionCreate, collectionDelete, collectionRetrieve, collectionUpdate, collectionUpsert, composite } from './composite.js';
import { queryMore, runQuery, toolingCreateMember, toolingDeleteMember, toolingQuery } from './query.js';
import * as so from './sobjects.js';

function allow(call: RestCall, allowed: string[]): void {
  if (!allowed.includes(call.method)) {
    throw sfError(405, 'METHOD_NOT_ALLOWED', `HTTP Method '${call.method}' not allowed. Allowed are ${allowed.join(',')}`);
  }
}

function limits(call: RestCall, streamingClients: number): RestResult {
  const now = call.org.clock.now();
  const body = structuredClone(limitsTemplate) as Record<string, { Max: number; Remaining: number }>;
  const max = call.org.api.limit;
  body.DailyApiRequests = { Max: max, Remaining: Math.max(0, max - call.org.api.used(now)) };
  const clients = call.org.maxStreamingClients;
  body.DurableStreamingApiConcurrentClients = { Max: clients, Remaining: Math.max(0, clients - streamingClients) };
  const deliveries = call.org.deliveries;
  body.DailyDeliveredPlatformEvents = { Max: deliveries.limit, Remaining: deliveries.remaining(now) };
  return { status: 200, body };
}

function resources(call: RestCall): RestResult {
  const base = `/services/data/v${call.version}`;
  const names = [
    'tooling',
    'metadata',
    'eclair',
    'folders',
    'prechatForms',
    'chatter',
    'tabs',
    'appMenu',
    'quickActions',
    'queryAll',
    'commerce',
    'wave',
    'iot',
    'analytics',
    'search',
    'identity',
    'composite',
    'parameterizedSearch',
    'theme',
    'nouns',
    'recent',
    'licensing',
    'limits',
    'async-queries',
    'query',
    'sobjects',
    'actions',
    'support',
  ];
  const body: Record<string, string> = {};
  for (const n of names) body[n] = n === 'identity' ? `${call.em.baseUrl}/id/${call.org.id}/${call.org.user.id}` : `${base}/${n}`;
  return { status: 200, body };
}

export function dispatch(call: RestCall, streamingClients: (orgId: string) => number = () => 0): RestResult {
  const [a, b, c, d] = call.segments;
  const n = call.segments.length;
  const self = (sub: RestCall): RestResult => dispatch(sub, streamingClients);
  if (n === 0) return (allow(call, ['GET']), resources(call));
  switch (a) {
    case 'sobjects': {
      if (n === 1) return (allow(call, ['GET']), so.describeGlobal(call));
      const meta = so.objectOr404(call, b);
      if (n === 2) {
        allow(call, ['GET', 'POST']);
        return call.method === 'GET' ? so.sobjectInfo(call, meta) : so.create(call, meta);
      }
      if (n === 3 && c === 'describe') return (allow(call, ['GET']), so.describe(call, meta));
      if (n === 3 && c === 'deleted') return (allow(call, ['GET']), so.getDeleted(call, meta));
      if (n === 3 && c === 'updated') return (allow(call, ['GET']), so.getUpdated(call, meta));
      if (n === 3) {
        allow(call, ['GET', 'PATCH', 'DELETE']);
        if (call.method === 'GET') return so.retrieve(call, meta, c!);
        if (call.method === 'PATCH') return so.update(call, meta, c!);
        return so.destroy(call, meta, c!);
      }
      if (n === 4) {
        allow(call, ['PATCH']);
        return so.upsert(call, meta, c!, d!);
      }
      break;
    }
    case 'query':
    case 'queryAll':
      allow(call, ['GET']);
      if (n === 1) return runQuery(call, a === 'queryAll');
      if (n === 2) return queryMore(call, b!);
      break;
    case 'recent':
      if (n === 1) return (allow(call, ['GET']), { status: 200, body: [] });
      break;
    case 'limits':
      if (n === 1) return (allow(call, ['GET']), limits(call, streamingClients(call.org.id)));
      break;
    case 'composite':
      if (n === 1) return (allow(call, ['POST']), composite(call, self));
      if (b === 'sobjects' && n === 2) {
        allow(call, ['POST', 'PATCH', 'DELETE']);
        if (call.method === 'POST') return collectionCreate(call);
        if (call.method === 'PATCH') return collectionUpdate(call);
        return collectionDelete(call);
      }
      if (b === 'sobjects' && n === 3) return (allow(call, ['GET', 'POST']), collectionRetrieve(call, c!));
      if (b === 'sobjects' && n === 4) return (allow(call, ['PATCH']), collectionUpsert(call, c!, d!));
      break;
    case 'tooling':
      if (b === 'query' && n === 2) return (allow(call, ['GET']), toolingQuery(call));
      if (b === 'sobjects' && c?.toLowerCase() === 'platformeventchannelmember') {
        if (n === 3) return (allow(call, ['POST']), toolingCreateMember(call));
        if (n === 4) return (allow(call, ['DELETE']), toolingDeleteMember(call, d!));
      }
      break;
  }
  throw errors.notFound();
}
