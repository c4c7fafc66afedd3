import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ForbiddenDestinationError } from '../../../net/egress.js';
import { createSalesforceEgress } from '../../../net/salesforce-egress.js';
import type { StreamHooks } from '../stream.js';
import { classifyStatus, PubSubStream } from './stream.js';

const hooks: StreamHooks = {
  replayMap: () => ({}),
  onMessage() {},
  onActivity() {},
  onHandshake() {},
  onConnected() {},
  onSubscribed() {},
  onVerdict() {},
  onTransportDown() {},
  onAdvisedTimeout() {},
};
const target = (endpoint: string) => ({ endpoint, orgId: '00D000000000001AAA', instanceUrl: 'https://x.my.salesforce.com' });

describe('the Pub/Sub endpoint goes through the address guard', () => {
  it("Salesforce's own endpoint passes the host rules; another host or a private address does not", () => {
    const egress = createSalesforceEgress({ allowPrivate: false });
    new PubSubStream(target('api.pubsub.salesforce.com:7443'), 't', hooks, egress).close();
    expect(() => new PubSubStream(target('pubsub.example.com:7443'), 't', hooks, egress)).toThrow(ForbiddenDestinationError);
    const listed = createSalesforceEgress({ hosts: ['10.0.0.5'], allowPrivate: false });
    expect(() => new PubSubStream(target('10.0.0.5:7443'), 't', hooks, listed)).toThrow(/private or reserved/);
  });
});

describe('what a Subscribe status means', () => {
  const err = (code: grpc.status, errorCode?: string): grpc.ServiceError => {
    const metadata = new grpc.Metadata();
    if (errorCode) metadata.set('error-code', errorCode);
    return Object.assign(new Error('x'), { code, details: 'x', metadata });
  };
  it.each([
    [grpc.status.UNAUTHENTICATED, 'sfdc.platform.eventbus.grpc.service.auth.error', 'auth'],
    [grpc.status.INVALID_ARGUMENT, 'sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted', 'invalid_replay'],
    [grpc.status.RESOURCE_EXHAUSTED, 'sfdc.platform.eventbus.grpc.subscription.limit.exceeded', 'limited'],
    [grpc.status.NOT_FOUND, 'sfdc.platform.eventbus.grpc.subscription.topic.notfound', 'channel_rejected'],
    // A reset stream is retried with backoff, never taken for a verdict on the channel or the grant.
    [grpc.status.UNAVAILABLE, undefined, 'dead'],
    [grpc.status.INTERNAL, undefined, 'dead'],
    // Resource exhausted without the allocation's code (a transient server limit): retried, not "limited".
    [grpc.status.RESOURCE_EXHAUSTED, undefined, 'dead'],
  ] as const)('%s %s → %s', (code, errorCode, kind) => {
    expect(classifyStatus(err(code, errorCode), '/data/LeadChangeEvent').kind).toBe(kind);
  });
});
