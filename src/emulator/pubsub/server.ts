/**
 * Salesforce's Pub/Sub API (`eventbus.v1.PubSub`) over the emulator's event bus: the same change
 * events CometD delivers, Avro-encoded, pulled with FetchRequest flow control, with keepalives that
 * carry the latest replay id, Salesforce's status codes and its `error-code` trailers. TLS only.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  AUTH_METADATA,
  ERROR_CODE_TRAILER,
  PUBSUB_ERRORS,
  RPC_ID_TRAILER,
  pubsubService,
  replayIdToBytes,
  type FetchRequest,
  type FetchResponse,
} from '../../salesforce/pubsub/proto.js';
import type { Emulator } from '../emulator.js';
import type { Org } from '../org.js';
import { ALL_CHANGE_EVENTS, channelReceives, isEntityChangeChannel, type StreamEvent } from '../streaming/bus.js';
import { encodeChangeEvent } from './encode.js';
import { changeEventSchema, schemaById } from './schema.js';
import { makePubsubTls, type PubsubTls } from './tls.js';

export interface PubsubServerOptions {
  host: string;
  port?: number;
  /** An empty FetchResponse with the latest replay id when nothing was sent for this long. Salesforce: within 270 s. */
  keepaliveMs?: number;
  /**
   * A subscription whose requested events are all delivered and that asks for none within this
   * long is closed: the stream stays open only while events are pending. Salesforce: 60 s.
   */
  staleAfterMs?: number;
  logger: Logger;
}

export interface PubsubServer {
  /** `host:port`. */
  address: string;
  caFile: string;
  /** Ends every stream whose token is no longer valid (after revocations). */
  revalidate(): void;
  /** Ends the org's open Subscribe streams with UNAVAILABLE, as a connection reset does; answers how many. */
  resetStreams(orgId: string): number;
  subscriptions(orgId: string): number;
  close(): Promise<void>;
}

/** Salesforce caps one FetchRequest at 100 events. */
export const MAX_NUM_REQUESTED = 100;

let tlsOnce: Promise<PubsubTls> | undefined;

interface Caller {
  org: Org;
  token: string;
}

function fail(code: grpc.status, errorCode: string, message: string): grpc.ServiceError {
  const rpcId = randomUUID();
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_TRAILER, errorCode);
  metadata.set(RPC_ID_TRAILER, rpcId);
  return Object.assign(new Error(message), { code, details: `${message} rpcId: ${rpcId}`, metadata }) as grpc.ServiceError;
}

const authError = (): grpc.ServiceError =>
  fail(grpc.status.UNAUTHENTICATED, PUBSUB_ERRORS.auth, 'An error occurred while trying to authenticate. Verify your credentials and try again.');

export async function startPubsubServer(em: Emulator, opts: PubsubServerOptions): Promise<PubsubServer> {
  tlsOnce ??= makePubsubTls();
  const tls = await tlsOnce;
  const keepaliveMs = opts.keepaliveMs ?? 270_000;
  const staleAfterMs = opts.staleAfterMs ?? 60_000;
  const streams = new Set<Subscription>();

  function authenticate(metadata: grpc.Metadata): Caller {
    const first = (k: string): string | undefined => {
      const v = metadata.get(k)[0];
      return v === undefined ? undefined : String(v);
    };
    const token = first(AUTH_METADATA.accessToken);
    const grant = em.tokens.validateAccess(token);
    const org = grant ? em.org(grant.orgId) : undefined;
    const tenant = first(AUTH_METADATA.tenantId);
    const instanceUrl = first(AUTH_METADATA.instanceUrl);
    // The tenant must be the token's org (15 or 18 characters), and an instance URL must be given.
    if (!org || !token || !tenant || em.org(tenant) !== org || !instanceUrl) throw authError();
    em.tokens.keepAlive(token);
    return { org, token };
  }

  function topicAllowed(org: Org, topic: string): boolean {
    if (topic === ALL_CHANGE_EVENTS) return true;
    if (!isEntityChangeChannel(topic)) return false;
    const meta = org.resolveEntity(topic.slice('/data/'.length));
    return meta !== undefined && `/data/${meta.changeEventName}` === topic && org.isCdcSelected(meta);
  }

  const topicNotFound = (topic: string): grpc.ServiceError =>
    fail(grpc.status.NOT_FOUND, PUBSUB_ERRORS.topicNotFound, `The topic ${topic} was not found or you don't have access to it.`);

  class Subscription {
    readonly rpcId = randomUUID();
    topic: string | undefined;
    cursor = 0;
    pending = 0;
    lastFetchAt = Date.now();
    /** When the last requested event was sent (nothing pending since). */
    drainedAt = Date.now();
    lastSentAt = Date.now();
    unlisten: (() => void) | undefined;
    timer: NodeJS.Timeout | undefined;
    ended = false;

    constructor(
      readonly call: grpc.ServerDuplexStream<FetchRequest, FetchResponse>,
      readonly caller: Caller,
    ) {}

    start(req: FetchRequest): void {
      const { org } = this.caller;
      const topic = req.topicName ?? '';
      if (!topicAllowed(org, topic)) return this.end(topicNotFound(topic));
      if (!org.permissions.viewAllData && topic !== ALL_CHANGE_EVENTS) {
        return this.end(fail(grpc.status.PERMISSION_DENIED, PUBSUB_ERRORS.topicNotFound, `You don't have permission to subscribe to ${topic}.`));
      }
      this.topic = topic;
      const preset = req.replayPreset ?? 'LATEST';
      if (preset === 'CUSTOM' || preset === 2) {
        const bytes = req.replayId ?? Buffer.alloc(0);
        const n = bytes.length === 8 ? Number(bytes.readBigUInt64BE()) : NaN;
        if (!org.bus.isValidReplayId(n)) {
          return this.end(
            fail(grpc.status.INVALID_ARGUMENT, PUBSUB_ERRORS.replayIdCorrupted, 'The Replay ID validation failed. Ensure that the Replay ID is valid.'),
          );
        }
        this.cursor = n;
      } else if (preset === 'EARLIEST' || preset === 1) {
        this.cursor = -Infinity;
      } else {
        this.cursor = org.bus.latestReplayId();
      }
      // Headers now: the subscription is in place, before any event or keepalive.
      this.call.sendMetadata(new grpc.Metadata());
      this.unlisten = org.bus.subscribe(() => this.pump());
      this.timer = setInterval(() => this.tick(), Math.max(20, Math.min(keepaliveMs, staleAfterMs) / 4));
      this.timer.unref();
    }

    fetch(req: FetchRequest): void {
      if (this.ended) return;
      if (this.topic === undefined) {
        this.start(req);
        if (this.ended) return;
      } else if (req.topicName && req.topicName !== this.topic) {
        return this.end(fail(grpc.status.INVALID_ARGUMENT, PUBSUB_ERRORS.invalidRequest, 'The topic cannot change within a subscription.'));
      }
      const n = req.numRequested ?? 0;
      if (n <= 0) {
        return this.end(fail(grpc.status.INVALID_ARGUMENT, PUBSUB_ERRORS.invalidRequest, 'num_requested must be greater than 0.'));
      }
      this.pending = Math.min(MAX_NUM_REQUESTED, this.pending + Math.min(n, MAX_NUM_REQUESTED));
      this.lastFetchAt = Date.now();
      this.pump();
    }

    pump(): void {
      if (this.ended || this.topic === undefined || this.pending <= 0) return;
      const { org } = this.caller;
      if (!em.tokens.validateAccess(this.caller.token)) return this.end(authError());
      const due = org.bus.eventsAfter(this.cursor, this.topic);
      if (due.length === 0) return;
      const now = org.clock.now();
      const remaining = org.deliveries.remaining(now);
      if (remaining <= 0) {
        return this.end(fail(grpc.status.RESOURCE_EXHAUSTED, PUBSUB_ERRORS.limitExceeded, 'The subscriber has exceeded the daily event delivery allocation.'));
      }
      const batch: StreamEvent[] = due.slice(0, Math.min(this.pending, remaining));
      this.cursor = batch[batch.length - 1]!.replayId;
      // Without View All Data, /data/ChangeEvents withholds change events at delivery, as CometD does.
      const visible = org.permissions.viewAllData ? batch : [];
      const events = [];
      for (const e of visible) {
        const meta = org.resolveEntity(e.channel.slice('/data/'.length));
        if (!meta || !channelReceives(this.topic, e.channel)) continue;
        const schema = (e.schema ? schemaById(e.schema) : undefined) ?? changeEventSchema(meta);
        events.push({
          event: { id: randomUUID(), schemaId: schema.id, payload: encodeChangeEvent(schema, e.payload), headers: [] },
          replayId: replayIdToBytes(String(e.replayId)),
        });
      }
      this.pending -= events.length;
      if (this.pending === 0) this.drainedAt = Date.now();
      org.deliveries.count(now, events.length);
      this.lastSentAt = Date.now();
      this.call.write({
        events,
        latestReplayId: replayIdToBytes(String(this.cursor)),
        rpcId: this.rpcId,
        pendingNumRequested: this.pending,
      });
      if (due.length > batch.length && this.pending > 0) setImmediate(() => this.pump());
    }

    tick(): void {
      if (this.ended) return;
      const now = Date.now();
      // Every requested event delivered and no new request for a minute: the server ends the stream.
      if (this.pending === 0 && now - Math.max(this.lastFetchAt, this.drainedAt) >= staleAfterMs) return this.end();
      if (now - this.lastSentAt < keepaliveMs) return;
      if (!em.tokens.validateAccess(this.caller.token)) return this.end(authError());
      this.lastSentAt = now;
      // The latest replay id tells the client where it may resume: never past an event of the topic
      // it has not been sent yet (credit spent), only past events of other topics.
      const bus = this.caller.org.bus;
      const undelivered = this.topic !== undefined && bus.eventsAfter(this.cursor, this.topic).length > 0;
      const latest = undelivered ? this.cursor : bus.latestReplayId();
      if (!Number.isFinite(latest) || latest <= 0) return;
      this.call.write({
        events: [],
        latestReplayId: replayIdToBytes(String(latest)),
        rpcId: this.rpcId,
        pendingNumRequested: this.pending,
      });
    }

    end(err?: grpc.ServiceError): void {
      if (this.ended) return;
      this.ended = true;
      this.unlisten?.();
      if (this.timer) clearInterval(this.timer);
      streams.delete(this);
      // A status with trailers is sent by emitting it as the call's error.
      if (err) this.call.emit('error', err);
      else this.call.end();
    }
  }

  const server = new grpc.Server();
  server.addService(pubsubService(), {
    Subscribe(call: grpc.ServerDuplexStream<FetchRequest, FetchResponse>) {
      let caller: Caller;
      try {
        caller = authenticate(call.metadata);
      } catch (err) {
        call.emit('error', err);
        return;
      }
      const sub = new Subscription(call, caller);
      streams.add(sub);
      call.on('data', (req: FetchRequest) => sub.fetch(req));
      call.on('end', () => sub.end());
      call.on('cancelled', () => sub.end());
      call.on('error', () => sub.end());
    },
    GetTopic(call: grpc.ServerUnaryCall<{ topicName: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      try {
        const { org } = authenticate(call.metadata);
        const topic = call.request.topicName;
        if (!topicAllowed(org, topic)) return cb(topicNotFound(topic));
        const meta = topic === ALL_CHANGE_EVENTS ? undefined : org.resolveEntity(topic.slice('/data/'.length));
        cb(null, {
          topicName: topic,
          tenantGuid: org.id,
          canPublish: false,
          canSubscribe: true,
          schemaId: meta ? changeEventSchema(meta).id : '',
          rpcId: randomUUID(),
        });
      } catch (err) {
        cb(err as grpc.ServiceError);
      }
    },
    GetSchema(call: grpc.ServerUnaryCall<{ schemaId: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      try {
        authenticate(call.metadata);
        const schema = schemaById(call.request.schemaId);
        if (!schema) return cb(fail(grpc.status.NOT_FOUND, PUBSUB_ERRORS.schemaNotFound, `The schema ${call.request.schemaId} was not found.`));
        cb(null, { schemaJson: schema.json, schemaId: schema.id, rpcId: randomUUID() });
      } catch (err) {
        cb(err as grpc.ServiceError);
      }
    },
    Publish(call: grpc.ServerUnaryCall<{ topicName: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      try {
        authenticate(call.metadata);
        // Change event topics are Salesforce's own: nobody may publish to them.
        cb(
          fail(
            grpc.status.PERMISSION_DENIED,
            'sfdc.platform.eventbus.grpc.publish.topic.notallowed',
            `Publishing to ${call.request.topicName} is not allowed.`,
          ),
        );
      } catch (err) {
        cb(err as grpc.ServiceError);
      }
    },
    PublishStream(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.emit('error', fail(grpc.status.UNIMPLEMENTED, 'sfdc.platform.eventbus.grpc.unimplemented', 'PublishStream is not supported by the emulator.'));
    },
    ManagedSubscribe(call: grpc.ServerDuplexStream<unknown, unknown>) {
      call.emit('error', fail(grpc.status.UNIMPLEMENTED, 'sfdc.platform.eventbus.grpc.unimplemented', 'ManagedSubscribe is not supported by the emulator.'));
    },
  });
  const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], false);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host}:${opts.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  opts.logger.debug({ port }, 'Pub/Sub API listening');
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    caFile: tls.caFile,
    revalidate() {
      for (const s of [...streams]) if (!em.tokens.validateAccess(s.caller.token)) s.end(authError());
    },
    resetStreams(orgId) {
      let n = 0;
      for (const s of [...streams]) {
        if (s.caller.org.id !== orgId) continue;
        n++;
        s.end(
          Object.assign(new Error('Stream removed'), {
            code: grpc.status.UNAVAILABLE,
            details: 'Stream removed',
            metadata: new grpc.Metadata(),
          }) as grpc.ServiceError,
        );
      }
      return n;
    },
    subscriptions(orgId) {
      let n = 0;
      for (const s of streams) if (s.caller.org.id === orgId) n++;
      return n;
    },
    close() {
      for (const s of [...streams]) s.end();
      return new Promise((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
