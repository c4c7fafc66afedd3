import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import express from 'express';
import { EventBus } from '../../src/emulator/streaming/bus.js';
import { createCometdServer, type CometdServer, type CometdServerOptions, type StreamingAuth } from '../../src/emulator/streaming/server.js';

/** faye ships no types; tests use it exactly as a third party would, through its public API. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const faye: any = createRequire(import.meta.url)('faye');

export const T0 = Date.parse('2024-01-01T00:00:00Z');

export interface Harness {
  url: string;
  server: CometdServer;
  clock: { now: number };
  addOrg(orgId: string, token: string, userId?: string): EventBus;
  revokeToken(token: string): void;
  publish(orgId: string, entity: string, fields?: Record<string, unknown>): number;
  close(): Promise<void>;
}

export function changePayload(entity: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ChangeEventHeader: {
      entityName: entity,
      recordIds: ['001000000000001AAA'],
      changeType: 'CREATE',
      changeOrigin: 'com/salesforce/api/rest/59.0;client=test',
      transactionKey: '0001-' + Math.random().toString(16).slice(2),
      sequenceNumber: 1,
      commitTimestamp: 0,
      commitNumber: 1,
      commitUser: '005000000000001AAA',
      changedFields: [],
    },
    ...fields,
  };
}

export async function startHarness(overrides: Partial<CometdServerOptions> = {}): Promise<Harness> {
  const clock = { now: T0 };
  const tokens = new Map<string, StreamingAuth>();
  const buses = new Map<string, EventBus>();
  const server = createCometdServer({
    authenticate(header) {
      const m = /^(?:OAuth|Bearer) (.+)$/.exec(header ?? '');
      return (m && tokens.get(m[1]!)) || null;
    },
    busFor: (orgId) => buses.get(orgId),
    channelAllowed: (_orgId, ch) => ch === '/data/ChangeEvents' || /^\/data\/(Account|Contact|Invoice__)ChangeEvent$/.test(ch),
    now: () => clock.now,
    connectTimeoutMs: 800,
    ...overrides,
  });
  const app = express();
  app.use(express.json());
  app.post(['/cometd/:version', '/cometd/:version/*splat'], server.handler);
  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    clock,
    addOrg(orgId, token, userId = '005000000000001AAA') {
      tokens.set(token, { orgId, userId });
      const bus = new EventBus({ now: () => clock.now });
      buses.set(orgId, bus);
      return bus;
    },
    revokeToken(token) {
      tokens.delete(token);
    },
    publish(orgId, entity, fields) {
      const channel = entity.endsWith('__c') ? `/data/${entity.slice(0, -3)}__ChangeEvent` : `/data/${entity}ChangeEvent`;
      return buses.get(orgId)!.publish(channel, changePayload(entity, fields)).replayId;
    },
    async close() {
      server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
