/**
 * The emulator's HTTP server: one host is both login and instance URL, as in
 * a My Domain org. OAuth, REST, CometD and the admin API share it.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { createLogger, type Logger } from '../core/log.js';
import { ActivityScheduler } from './activity.js';
import { adminRouter } from './admin.js';
import { Emulator } from './emulator.js';
import { oauthRouter } from './oauth.js';
import { NODE_MAX_HEADER_BYTES, requestLimits } from './request-limits.js';
import { bearerToken, restRouter } from './rest/router.js';
import { startPubsubServer, type PubsubServer } from './pubsub/server.js';
import { createCometdServer, isEntityChangeChannel, streamingErrors, ALL_CHANGE_EVENTS, type CometdServer } from './streaming/index.js';

export interface EmulatorOptions {
  /** 0 (default) = any free port. */
  port?: number;
  host?: string;
  logger?: Logger;
  accessTokenTtlMs?: number;
  /** How long the CometD server holds a /meta/connect (Salesforce: 110 s). */
  connectTimeoutMs?: number;
  /** Serve the Pub/Sub API (gRPC over TLS) too; `port` 0 or absent = any free port. */
  pubsub?: { port?: number; keepaliveMs?: number; staleAfterMs?: number } | boolean;
}

export interface RunningEmulator {
  url: string;
  emulator: Emulator;
  cometd: CometdServer;
  /** `host:port` of the Pub/Sub API and the PEM file of its CA, when served. */
  pubsub?: { address: string; caFile: string; server: PubsubServer } | undefined;
  close(): Promise<void>;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const logger = opts.logger ?? createLogger({ name: 'forcehook-emulator' });
  const em = new Emulator(logger, opts.accessTokenTtlMs);
  const cometd = createCometdServer({
    authenticate(header) {
      const grant = em.tokens.validateAccess(bearerToken(header));
      return grant ? { orgId: grant.orgId, userId: grant.userId } : null;
    },
    keepAlive: (header) => em.tokens.keepAlive(bearerToken(header)),
    busFor: (orgId) => em.org(orgId)?.bus,
    channelAllowed(orgId, channel) {
      const org = em.org(orgId);
      if (!org) return false;
      if (channel === ALL_CHANGE_EVENTS) return true;
      if (!isEntityChangeChannel(channel)) return false;
      // Channel names are case-sensitive; single-entity channels need the entity selected.
      const meta = org.resolveEntity(channel.slice('/data/'.length));
      return meta !== undefined && `/data/${meta.changeEventName}` === channel && org.isCdcSelected(meta);
    },
    // Without View All Data a single-entity channel is refused at subscribe; /data/ChangeEvents and
    // custom channels accept anyone and withhold the change events at delivery (README, Permissions).
    subscribeRefusal(orgId, _userId, channel) {
      const org = em.org(orgId);
      return org && !org.permissions.viewAllData && isEntityChangeChannel(channel) ? streamingErrors.CDC_PERMISSION : undefined;
    },
    mayReceive(orgId, _userId, channel) {
      const org = em.org(orgId);
      return !org || org.permissions.viewAllData || !channel.startsWith('/data/');
    },
    now: () => em.clock.now(),
    limitsFor(orgId) {
      const org = em.org(orgId);
      return org ? { maxClients: org.maxStreamingClients, deliveries: org.deliveries } : undefined;
    },
    connectTimeoutMs: opts.connectTimeoutMs,
    logger,
  });
  const host = opts.host ?? '127.0.0.1';
  const pubsubOpts = opts.pubsub === true ? {} : opts.pubsub || undefined;
  const pubsub = pubsubOpts ? await startPubsubServer(em, { host, ...pubsubOpts, logger }) : undefined;
  em.onRevoked = () => {
    cometd.revalidate();
    pubsub?.revalidate();
  };
  const activity = new ActivityScheduler(em);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestLimits);
  app.use(
    adminRouter({
      em,
      cometd,
      activity,
      pubsub: pubsub && { resetStreams: (orgId) => pubsub.resetStreams(orgId), subscriptions: (orgId) => pubsub.subscriptions(orgId) },
    }),
  );
  app.use(oauthRouter(em));
  app.use(restRouter(em, { streamingClients: (orgId) => cometd.stats(orgId).streamingClients }));
  app.post(
    ['/cometd/:version', '/cometd/:version/*splat'],
    express.json({ limit: '1mb', type: () => true }),
    (req, _res, next) => {
      // At an instance the org has left, its sessions are refused as invalid (401::Authentication invalid).
      // Access tokens start with the org's 15-character id: read it without touching the session.
      const prefix = bearerToken(req.headers.authorization)?.split('!')[0];
      const org = prefix ? em.org(prefix) : undefined;
      if (org && !em.servesAt(org, req.headers.host)) req.headers.authorization = 'OAuth retired-instance';
      next();
    },
    cometd.handler,
  );

  const server: Server = await new Promise((resolve, reject) => {
    const s = createServer({ maxHeaderSize: NODE_MAX_HEADER_BYTES }, app).listen(opts.port ?? 0, host, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  em.baseUrl = `http://${urlHost}:${port}`;
  // Instances an org moved to: the same app on another port (Salesforce's instances share one service).
  const extra = new Map<number, Server>([[port, server]]);
  em.listenAlso = async (wanted) => {
    if (wanted !== 0 && extra.has(wanted)) return `http://${urlHost}:${wanted}`;
    const s: Server = await new Promise((resolve, reject) => {
      const l = createServer({ maxHeaderSize: NODE_MAX_HEADER_BYTES }, app).listen(wanted, host, () => resolve(l));
      l.once('error', reject);
    });
    const p = (s.address() as AddressInfo).port;
    extra.set(p, s);
    return `http://${urlHost}:${p}`;
  };
  logger.debug({ url: em.baseUrl }, 'emulator listening');

  let closed: Promise<void> | undefined;
  return {
    url: em.baseUrl,
    emulator: em,
    cometd,
    pubsub: pubsub && { address: pubsub.address, caFile: pubsub.caFile, server: pubsub },
    close() {
      closed ??= (async () => {
        activity.close();
        cometd.close();
        await pubsub?.close();
        await Promise.all(
          [...extra.values()].map((s) => {
            s.closeAllConnections();
            return new Promise<void>((resolve) => s.close(() => resolve()));
          }),
        );
      })();
      return closed;
    },
  };
}
