/**
 * One HTTP/2 channel to the Pub/Sub API per org subscriber, one Subscribe stream per CDC channel,
 * built and swapped whole by the subscriber exactly as a CometD client is. Flow control: a channel
 * asks for at most `window` events it has not handed to Kafka yet; the subscriber returns credit
 * (`handled`) only once Kafka acknowledged them, so a slow or absent Kafka means "ask for fewer",
 * never "drop the client and replay".
 */
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ForbiddenDestinationError, guardedLookup, isPublicAddress } from '../../../net/egress.js';
import type { SalesforceEgress } from '../../../net/salesforce-egress.js';
import {
  AUTH_METADATA,
  ERROR_CODE_TRAILER,
  PUBSUB_ERRORS,
  pubsubClientConstructor,
  replayIdToBytes,
  replayIdToString,
  type FetchRequest,
  type FetchResponse,
  type SchemaInfo,
} from '../../../salesforce/pubsub/proto.js';
import type { StreamHooks } from '../stream.js';
import type { Verdict } from '../verdict.js';
import { decodingSchema, toCometdShape, type DecodingSchema } from './decode.js';

export interface PubSubTarget {
  /** `host:port`, always TLS. */
  endpoint: string;
  /** PEM of a CA trusted besides the system's. */
  ca?: string | undefined;
  orgId: string;
  instanceUrl: string;
}

/** Salesforce accepts at most 100 requested per stream; more in flight only grows what a restart re-reads. */
export const DEFAULT_WINDOW = 100;
/** Below the 60 s after which Salesforce ends a stream with nothing requested. */
export const DEFAULT_KEEP_OPEN_MS = 45_000;

interface ChannelStream {
  call: grpc.ClientDuplexStream<FetchRequest, FetchResponse>;
  /** Events this stream delivered that the subscriber has not yet handed to Kafka. */
  inFlight: number;
  /** Credit granted to the server and not yet used. */
  requested: number;
  ended: boolean;
  /** Asks for one more event when the credit stayed spent this long (see keepOpenMs). */
  keepOpen: NodeJS.Timeout | undefined;
}

/** What a Subscribe's final status means for the subscriber; null: our own cancel. */
export function classifyStatus(err: grpc.ServiceError, channel: string): Verdict {
  const code = String(err.metadata?.get(ERROR_CODE_TRAILER)[0] ?? '');
  const error = `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}${code ? ` (${code})` : ''}`;
  if (code === PUBSUB_ERRORS.auth || err.code === grpc.status.UNAUTHENTICATED) return { kind: 'auth', error };
  if (code === PUBSUB_ERRORS.replayIdCorrupted) return { kind: 'invalid_replay', channel, error };
  if (code === PUBSUB_ERRORS.limitExceeded) return { kind: 'limited', limit: 'event_allocation', error };
  if (code === PUBSUB_ERRORS.topicNotFound || err.code === grpc.status.NOT_FOUND || err.code === grpc.status.PERMISSION_DENIED) {
    return { kind: 'channel_rejected', channel, error };
  }
  // UNAVAILABLE (RST_STREAM, GOAWAY, a reset connection), INTERNAL, anything else: resubscribe after a backoff.
  return { kind: 'dead', error };
}

function resolveGuarded(host: string): Promise<string> {
  return new Promise((resolve, reject) =>
    guardedLookup(host, {}, (err, address) => (err ? reject(err) : resolve(Array.isArray(address) ? address[0]!.address : address))),
  );
}

export class PubSubStream {
  #token: string;
  #closed = false;
  readonly #channels = new Map<string, ChannelStream>();
  /** Channels subscribed and not unsubscribed: a Subscribe still waiting for the connection checks it. */
  readonly #wanted = new Set<string>();
  readonly #schemas = new Map<string, Promise<DecodingSchema>>();
  readonly #client: Promise<grpc.Client & Record<string, (...args: unknown[]) => unknown>>;
  #queue: Promise<void> = Promise.resolve();
  private readonly window: number;
  private readonly keepOpenMs: number;

  constructor(
    private readonly target: PubSubTarget,
    token: string,
    private readonly hooks: StreamHooks,
    egress?: SalesforceEgress,
    flow: { window?: number | undefined; keepOpenMs?: number | undefined } = {},
  ) {
    this.window = flow.window ?? DEFAULT_WINDOW;
    this.keepOpenMs = flow.keepOpenMs ?? DEFAULT_KEEP_OPEN_MS;
    this.#token = token;
    // Checked before anything is sent: the endpoint receives the org's access token.
    const url = egress ? egress.hosts.check(`https://${target.endpoint}`, 'Pub/Sub endpoint') : new URL(`https://${target.endpoint}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (egress && !egress.allowPrivate && isIP(host) && !isPublicAddress(host)) {
      throw new ForbiddenDestinationError(`Pub/Sub endpoint: ${host} is a private or reserved address`);
    }
    this.#client = this.#connect(host, url.port || '443', egress);
    this.#client.catch(() => {});
    // A new server-side subscription for every channel: a channel still at LATEST skips what came meanwhile.
    hooks.onHandshake();
  }

  get token(): string {
    return this.#token;
  }

  async #connect(host: string, port: string, egress: SalesforceEgress | undefined): Promise<grpc.Client & Record<string, (...args: unknown[]) => unknown>> {
    // gRPC resolves names itself; the address checked must be the address connected to, so the guarded
    // lookup picks it and the channel connects there, still verifying the certificate for the host name.
    const guarded = egress !== undefined && !egress.allowPrivate && isIP(host) === 0;
    const address = guarded ? await resolveGuarded(host) : host;
    const roots = this.target.ca ? Buffer.from([...rootCertificates, this.target.ca].join('\n')) : null;
    const meta = (_params: unknown, cb: (err: Error | null, m?: grpc.Metadata) => void): void => {
      const m = new grpc.Metadata();
      m.set(AUTH_METADATA.accessToken, this.#token);
      m.set(AUTH_METADATA.instanceUrl, this.target.instanceUrl);
      m.set(AUTH_METADATA.tenantId, this.target.orgId);
      cb(null, m);
    };
    const creds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(roots), grpc.credentials.createFromMetadataGenerator(meta));
    const Ctor = pubsubClientConstructor();
    const options: grpc.ChannelOptions = { 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_timeout_ms': 20_000 };
    if (address !== host) Object.assign(options, { 'grpc.ssl_target_name_override': host, 'grpc.default_authority': host });
    const target = `${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
    return new Ctor(target, creds, options) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  }

  subscribe(channel: string): void {
    if (this.#closed || this.#channels.has(channel)) return;
    this.#wanted.add(channel);
    void this.#start(channel);
  }

  async #start(channel: string): Promise<void> {
    let client;
    try {
      client = await this.#client;
    } catch (err) {
      if (!this.#closed) this.hooks.onVerdict({ kind: 'dead', error: `Pub/Sub endpoint: ${(err as Error).message}` });
      return;
    }
    if (this.#closed || this.#channels.has(channel) || !this.#wanted.has(channel)) return;
    const call = (client['Subscribe'] as () => grpc.ClientDuplexStream<FetchRequest, FetchResponse>).call(client);
    const state: ChannelStream = { call, inFlight: 0, requested: this.window, ended: false, keepOpen: undefined };
    this.#channels.set(channel, state);
    call.once('metadata', () => {
      if (this.#current(channel, state)) this.hooks.onSubscribed(channel);
    });
    call.on('data', (r: FetchResponse) => {
      this.#queue = this.#queue.then(() => this.#onResponse(channel, state, r));
    });
    call.on('error', (err: grpc.ServiceError) => this.#onEnd(channel, state, err));
    call.on('end', () => this.#onEnd(channel, state, undefined));
    const at = this.hooks.replayMap()[channel];
    const first: FetchRequest = { topicName: channel, numRequested: this.window };
    if (at === undefined || String(at) === '-1') first.replayPreset = 'LATEST';
    else {
      first.replayPreset = 'CUSTOM';
      first.replayId = replayIdToBytes(String(at));
    }
    call.write(first);
  }

  #current(channel: string, state: ChannelStream): boolean {
    return !this.#closed && this.#channels.get(channel) === state;
  }

  async #onResponse(channel: string, state: ChannelStream, r: FetchResponse): Promise<void> {
    if (!this.#current(channel, state)) return;
    this.hooks.onActivity();
    if (r.events.length === 0) {
      const latest = replayIdToString(r.latestReplayId);
      if (latest !== '') this.hooks.onKeepalive?.(channel, latest);
      return;
    }
    for (const e of r.events) {
      state.requested = Math.max(0, state.requested - 1);
      const replayId = replayIdToString(e.replayId);
      let data: unknown;
      try {
        const schema = await this.#schema(e.event.schemaId);
        data = toCometdShape(schema, e.event.payload, replayId);
      } catch (err) {
        if (!this.#current(channel, state)) return;
        if ((err as grpc.ServiceError).code !== undefined) {
          // GetSchema failed (transport, auth): the subscription is rebuilt from the processed position.
          this.hooks.onVerdict(classifyStatus(err as grpc.ServiceError, channel));
          return;
        }
        // A payload that does not decode is handed on as a malformed message: normalizing reports it and the
        // checkpoint moves past it, as with any poison message, instead of stalling the org.
        data = { schema: e.event.schemaId, payload: null, event: { replayId } };
      }
      if (!this.#current(channel, state)) return;
      state.inFlight++;
      this.hooks.onMessage(channel, data);
    }
    if (state.requested === 0) this.#armKeepOpen(state);
  }

  /** Credit spent and Kafka not taking: one event more before the server would end the idle stream. */
  #armKeepOpen(state: ChannelStream): void {
    if (state.keepOpen) return;
    state.keepOpen = setTimeout(() => {
      state.keepOpen = undefined;
      if (state.ended || this.#closed || state.requested > 0) return;
      state.requested = 1;
      state.call.write({ numRequested: 1 });
    }, this.keepOpenMs);
    state.keepOpen.unref();
  }

  /** Schemas are fetched once per id (they change when fields are added; old ids stay valid). */
  #schema(id: string): Promise<DecodingSchema> {
    let s = this.#schemas.get(id);
    if (!s) {
      s = this.#client.then(
        (client) =>
          new Promise<DecodingSchema>((resolve, reject) =>
            (client['GetSchema'] as (req: unknown, cb: (err: grpc.ServiceError | null, res: SchemaInfo) => void) => void).call(
              client,
              { schemaId: id },
              (err, res) => (err ? reject(err) : resolve(decodingSchema(id, res.schemaJson))),
            ),
          ),
      );
      this.#schemas.set(id, s);
      s.catch(() => this.#schemas.delete(id));
    }
    return s;
  }

  #onEnd(channel: string, state: ChannelStream, err: grpc.ServiceError | undefined): void {
    if (state.ended) return;
    state.ended = true;
    clearTimeout(state.keepOpen);
    if (!this.#current(channel, state)) return;
    this.#channels.delete(channel);
    this.hooks.onTransportDown();
    const verdict: Verdict = err ? classifyStatus(err, channel) : { kind: 'dead', error: 'the server ended the subscription' };
    this.hooks.onVerdict(verdict);
  }

  /** `count` events of `channel` were handed to Kafka (or dropped as duplicates): ask for as many again. */
  handled(channel: string, count: number): void {
    const state = this.#channels.get(channel);
    if (!state || state.ended || this.#closed) return;
    const freed = Math.min(count, state.inFlight);
    state.inFlight -= freed;
    const more = Math.min(freed, this.window - state.requested - state.inFlight);
    if (more <= 0) return;
    state.requested += more;
    state.call.write({ numRequested: more });
  }

  /** Every channel has spent its credit on events Kafka has not acknowledged yet: silence is ours, not the server's. */
  starved(): boolean {
    if (this.#channels.size === 0) return false;
    for (const s of this.#channels.values()) if (s.requested > 0) return false;
    return true;
  }

  /** After an invalid replay id: subscribe again from the tip (the replay map now says -1). */
  resubscribe(channel: string): void {
    this.unsubscribe(channel);
    setImmediate(() => this.subscribe(channel));
  }

  unsubscribe(channel: string): void {
    this.#wanted.delete(channel);
    const state = this.#channels.get(channel);
    if (!state) return;
    this.#channels.delete(channel);
    state.ended = true;
    clearTimeout(state.keepOpen);
    state.call.on('error', () => {});
    state.call.cancel();
  }

  close(): void {
    if (this.#closed) return;
    for (const ch of [...this.#channels.keys()]) this.unsubscribe(ch);
    this.#closed = true;
    void this.#client.then(
      (c) => c.close(),
      () => {},
    );
  }
}
