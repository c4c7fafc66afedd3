/**
 * The Pub/Sub API's gRPC definition, loaded from `pubsub_api.proto` beside this module
 * (or from the sources when running compiled code, which does not copy .proto files).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const DEFAULT_PUBSUB_ENDPOINT = 'api.pubsub.salesforce.com:7443';

/** Salesforce's metadata keys on every Pub/Sub call. */
export const AUTH_METADATA = { accessToken: 'accesstoken', instanceUrl: 'instanceurl', tenantId: 'tenantid' } as const;

/** The trailer Salesforce puts its own error code in (`sfdc.platform.eventbus.grpc...`). */
export const ERROR_CODE_TRAILER = 'error-code';
export const RPC_ID_TRAILER = 'rpc-id';

export const PUBSUB_ERRORS = {
  auth: 'sfdc.platform.eventbus.grpc.service.auth.error',
  replayIdCorrupted: 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted',
  limitExceeded: 'sfdc.platform.eventbus.grpc.subscription.limit.exceeded',
  topicNotFound: 'sfdc.platform.eventbus.grpc.subscription.topic.notfound',
  schemaNotFound: 'sfdc.platform.eventbus.grpc.schema.notfound',
  invalidRequest: 'sfdc.platform.eventbus.grpc.subscription.fetch.invalid.request',
} as const;

export const REPLAY_PRESET = { LATEST: 'LATEST', EARLIEST: 'EARLIEST', CUSTOM: 'CUSTOM' } as const;
export type ReplayPreset = keyof typeof REPLAY_PRESET;

export interface ProducerEvent {
  id: string;
  schemaId: string;
  payload: Buffer;
  headers?: { key: string; value: Buffer }[];
}
export interface ConsumerEvent {
  event: ProducerEvent;
  replayId: Buffer;
}
export interface FetchRequest {
  topicName?: string;
  replayPreset?: ReplayPreset | number;
  replayId?: Buffer;
  numRequested?: number;
  authRefresh?: string;
}
export interface FetchResponse {
  events: ConsumerEvent[];
  latestReplayId: Buffer;
  rpcId: string;
  pendingNumRequested: number;
}
export interface TopicInfo {
  topicName: string;
  tenantGuid: string;
  canPublish: boolean;
  canSubscribe: boolean;
  schemaId: string;
  rpcId: string;
}
export interface SchemaInfo {
  schemaJson: string;
  schemaId: string;
  rpcId: string;
}

function protoPath(): string {
  const candidates = [new URL('./pubsub_api.proto', import.meta.url), new URL('../../../src/salesforce/pubsub/pubsub_api.proto', import.meta.url)];
  for (const c of candidates) {
    const p = fileURLToPath(c);
    if (existsSync(p)) return p;
  }
  throw new Error('pubsub_api.proto not found beside the Pub/Sub module');
}

let definition: grpc.GrpcObject | undefined;

/** The loaded `eventbus.v1` package; enums as names, 64-bit ints as strings, defaults filled in. */
export function pubsubPackage(): grpc.GrpcObject {
  definition ??= grpc.loadPackageDefinition(protoLoader.loadSync(protoPath(), { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true }));
  return (definition['eventbus'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
}

export function pubsubService(): grpc.ServiceDefinition {
  return (pubsubPackage()['PubSub'] as grpc.ServiceClientConstructor).service;
}

export function pubsubClientConstructor(): grpc.ServiceClientConstructor {
  return pubsubPackage()['PubSub'] as grpc.ServiceClientConstructor;
}

/** Replay ids are opaque bytes; Salesforce's are 8-byte big-endian longs, which we keep as decimal strings. */
export function replayIdToString(bytes: Buffer | Uint8Array | undefined): string {
  const b = Buffer.from(bytes ?? []);
  if (b.length === 8) return b.readBigUInt64BE().toString();
  return b.length === 0 ? '' : `b64:${b.toString('base64')}`;
}

export function replayIdToBytes(replayId: string): Buffer {
  if (replayId.startsWith('b64:')) return Buffer.from(replayId.slice(4), 'base64');
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(replayId));
  return b;
}
