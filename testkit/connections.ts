/** Connecting an org and subscribing to its changes through the `/v1` API, as a user does; and reading a connection back. */
import type { OrgCredentials } from '../src/emulator/admin-client.js';
import type { Api } from './api.js';
import { waitUntil } from './wait.js';

/** The parts of `GET /v1/connections/:id` the tests look at. */
export interface ConnectionView {
  status: string;
  instanceUrl: string;
  subscriber: string;
  objects: { object: string; mode: string }[];
  warnings: { code: string; message: string; since: string }[];
  tokenRefreshedAt: string | null;
}

export async function viewConnection(api: Api, id: string): Promise<ConnectionView> {
  return (await api<ConnectionView>('GET', `/v1/connections/${id}`)).body;
}

/** Where a subscription delivers when the test reads Kafka, not webhooks: nothing listens there. */
export const NOWHERE = 'http://127.0.0.1:9/h';

export async function connect(api: Api, org: OrgCredentials): Promise<string> {
  const c = await api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  if (c.status !== 201) throw new Error(`POST /v1/connections: ${c.status} ${c.text}`);
  return c.body.id;
}

export async function subscribe(
  api: Api,
  connectionId: string,
  opts: { triggers: readonly string[]; objects?: readonly string[]; url?: string },
): Promise<string[]> {
  const ids: string[] = [];
  for (const object of opts.objects ?? ['Lead']) {
    for (const trigger of opts.triggers) {
      const s = await api<{ id: string }>('POST', '/v1/subscriptions', {
        connectionId,
        trigger,
        object,
        destination: { type: 'webhook', url: opts.url ?? NOWHERE },
      });
      if (s.status !== 201) throw new Error(`POST /v1/subscriptions: ${s.status} ${s.text}`);
      ids.push(s.body.id);
    }
  }
  return ids;
}

/** Connects the org and subscribes to `triggers` on `objects` (Lead); with `running`, waits until its subscriber runs. */
export async function follow(
  api: Api,
  org: OrgCredentials,
  opts: { triggers: readonly string[]; objects?: readonly string[]; url?: string; running?: boolean },
): Promise<string> {
  const id = await connect(api, org);
  await subscribe(api, id, opts);
  if (opts.running) await waitUntil(async () => (await viewConnection(api, id)).subscriber === 'running', 20_000, 'subscriber running');
  return id;
}
