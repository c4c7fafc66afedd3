/** The org under test: created on the emulator, connected and subscribed through the API, kept busy, faulted. */
import { emulatorAdmin, type OrgCredentials } from '../src/emulator/admin-client.js';
import type { Api } from '../testkit/api.js';
import { readEvents } from '../testkit/events.js';
import { startReceiver, type Receiver } from '../testkit/receiver.js';
import { waitUntil } from '../testkit/wait.js';
import { Ledger } from './ledger.js';
import type { Ctx } from './lib.js';

export type { OrgCredentials };

export async function adminCall<T = unknown>(ctx: Ctx, method: string, path: string, body?: unknown): Promise<T> {
  return emulatorAdmin<T>(ctx.emulator.url, method, path, body);
}

export function createOrg(ctx: Ctx, options: Record<string, unknown> = {}): Promise<OrgCredentials> {
  // Long runs deliver more than an edition's default event allocation; scenarios about that limit set their own.
  return adminCall<OrgCredentials>(ctx, 'POST', '/__emulator/orgs', { apiDailyLimit: 10_000_000, eventDeliveryDailyLimit: 100_000_000, ...options });
}

/** A fresh refresh token through the web-server flow, as a person re-approving the app would get one. */
export async function freshRefreshToken(org: OrgCredentials): Promise<string> {
  const redirectUri = 'https://chaos.example/callback';
  const form = new URLSearchParams({
    response_type: 'code',
    client_id: org.clientId,
    redirect_uri: redirectUri,
    username: org.username,
    password: org.password,
    action: 'allow',
  });
  const approved = await fetch(new URL('/services/oauth2/authorize', org.loginUrl), { method: 'POST', body: form, redirect: 'manual' });
  const code = new URL(approved.headers.get('location') ?? 'x:').searchParams.get('code');
  if (!code) throw new Error(`no authorization code (status ${approved.status})`);
  const tok = await fetch(new URL('/services/oauth2/token', org.loginUrl), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: org.clientId, client_secret: org.clientSecret, redirect_uri: redirectUri }),
  });
  const j = (await tok.json()) as { refresh_token?: string };
  if (!j.refresh_token) throw new Error(`no refresh token: ${JSON.stringify(j)}`);
  return j.refresh_token;
}

export const TRIGGERS = ['record.created', 'record.updated', 'record.deleted', 'record.undeleted'];

/** Connects the org and subscribes the receiver to every change of `objects`; returns the connection and subscription ids. */
export async function connectOrg(
  api: Api,
  org: OrgCredentials,
  receiver: Receiver,
  objects: string[],
  running?: (connectionId: string) => boolean,
): Promise<{ connectionId: string; subscriptionIds: string[] }> {
  const c = await api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  if (c.status !== 201) throw new Error(`connect: ${c.status} ${c.text}`);
  const subscriptionIds: string[] = [];
  for (const object of objects) {
    for (const trigger of TRIGGERS) {
      const s = await api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
        connectionId: c.body.id,
        trigger,
        object,
        destination: { type: 'webhook', url: receiver.url },
      });
      if (s.status !== 201) throw new Error(`subscribe: ${s.status} ${s.text}`);
      receiver.secrets.push(s.body.secret);
      subscriptionIds.push(s.body.id);
    }
  }
  await waitUntil(
    async () =>
      running
        ? running(c.body.id)
        : (await api<{ subscriber: string }>('GET', `/v1/connections/${c.body.id}`).catch(() => undefined))?.body?.subscriber === 'running',
    30_000,
    'subscriber running',
    100,
  );
  return { connectionId: c.body.id, subscriptionIds };
}

/** Runs activity on the org: `perSecond` random DML on `objects` for `seconds`. */
export async function activity(ctx: Ctx, orgId: string, perSecond: number, objects: string[], seconds: number): Promise<void> {
  await adminCall(ctx, 'POST', `/__emulator/orgs/${orgId}/activity`, { perSecond, objects, seconds });
}

export async function fault(ctx: Ctx, orgId: string, body: Record<string, unknown>): Promise<unknown> {
  return adminCall(ctx, 'POST', `/__emulator/orgs/${orgId}/faults`, body);
}

/**
 * Waits until a streaming client of the service is subscribed to the org (the emulator's bus has a listener).
 * A first follow starts at -1, new events only, and the subscriber state `running` comes as soon as the
 * subscribe is sent: a change committed before the server took the subscribe is not one the service
 * promises (it would be an older row). Call before the first activity, and before the Ledger listens.
 */
export async function streamingLive(ctx: Ctx, orgId: string): Promise<void> {
  await waitUntil(() => (ctx.emulator.emulator.org(orgId)?.bus.listenerCount() ?? 0) > 0, 30_000, `a streaming subscription to org ${orgId}`);
}

/** The usual set-up: an org, a receiver subscribed to its changes through `api`, a reader of the events topic. */
export async function steadyOrg(
  ctx: Ctx,
  brokers: string[],
  prefix: string,
  api: Api,
  objects = ['Lead'],
  orgOptions: Record<string, unknown> = {},
  ledgerOpts: ConstructorParameters<typeof Ledger>[3] = {},
) {
  const org = await createOrg(ctx, orgOptions);
  const receiver = await startReceiver({ verify: 'any' });
  const reader = await readEvents(prefix, brokers);
  const conn = await connectOrg(api, org, receiver, objects);
  await streamingLive(ctx, org.orgId);
  const ledger = new Ledger(ctx, [org.orgId], objects, ledgerOpts);
  return {
    org,
    receiver,
    reader,
    ledger,
    ...conn,
    async close() {
      ledger.close();
      await reader.stop().catch(() => undefined);
      await receiver.close().catch(() => undefined);
      await adminCall(ctx, 'DELETE', `/__emulator/orgs/${org.orgId}`).catch(() => undefined);
    },
  };
}
