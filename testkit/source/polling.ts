/** Emulator orgs and sessions for the polling tests. */
import type { Connection } from 'jsforce';
import { createLogger } from '../../src/core/log.js';
import { createSalesforceEgress } from '../../src/net/salesforce-egress.js';
import type { RawChange } from '../../src/normalize/raw-change.js';
import { OrgSession } from '../../src/salesforce/session.js';
import type { PollCursor, PollHandleContext } from '../../src/source/polling/poller.js';

export const silent = createLogger({ level: 'silent' });

/** The emulator listens on loopback over http: the operator setting tests use (FORCEHOOK_SALESFORCE_HOSTS=127.0.0.1). */
export const emulatorEgress = createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true });

export interface OrgCreds {
  orgId: string;
  loginUrl: string;
  instanceUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export async function admin<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export const INVOICE = {
  name: 'Invoice__c',
  fields: [
    { name: 'Amount__c', type: 'currency' },
    { name: 'Status__c', type: 'text' },
  ],
};

export async function newOrg(base: string, opts: { apiDailyLimit?: number } = {}): Promise<OrgCreds> {
  return admin<OrgCreds>(base, 'POST', '/__emulator/orgs', { cdcEntities: [], customObjects: [INVOICE], ...opts });
}

export function sessionFor(c: OrgCreds): OrgSession {
  return new OrgSession({
    connectionId: 'conn-test',
    orgId: c.orgId,
    instanceUrl: c.instanceUrl,
    oauth: { loginUrl: c.loginUrl, clientId: c.clientId, clientSecret: c.clientSecret },
    refreshToken: c.refreshToken,
    logger: silent,
    egress: emulatorEgress,
  });
}

export async function apiCalls(base: string, orgId: string): Promise<number> {
  return (await admin<{ apiCalls: number }>(base, 'GET', `/__emulator/orgs/${orgId}/stats`)).apiCalls;
}

/** A second, independent connection for test DML, so the poller's session is not involved. */
export async function writer(c: OrgCreds): Promise<Connection> {
  const s = sessionFor(c);
  await s.token();
  return s.jsforce();
}

/** Records what the poller hands over, like the supervisor would. */
export class Sink {
  readonly batches: RawChange[][] = [];
  readonly contexts: PollHandleContext[] = [];
  readonly committed: Map<string, PollCursor>[] = [];
  failHandle = 0;

  get changes(): RawChange[] {
    return this.batches.flat();
  }

  handle = async (changes: RawChange[], ctx: PollHandleContext): Promise<void> => {
    if (this.failHandle > 0) {
      this.failHandle--;
      throw new Error('kafka down');
    }
    this.batches.push(changes);
    this.contexts.push(ctx);
  };

  commit = async (cursors: Map<string, PollCursor>): Promise<void> => {
    this.committed.push(new Map(cursors));
  };

  take(): RawChange[] {
    const all = this.changes;
    this.batches.length = 0;
    return all;
  }
}
