import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/log.js';
import { CompactedStore } from '../kafka/state-store.js';
import type { KafkaClient } from '../kafka/types.js';
import {
  CheckpointSchema,
  StateRecordSchema,
  checkpointKey,
  stateKey,
  type ApiKeyRecord,
  type Checkpoint,
  type ConnectSessionRecord,
  type ConnectionRecord,
  type DeliveryStateRecord,
  type MappingRecord,
  type StateRecord,
  type SubscriptionRecord,
  type TokenRequest,
} from './records.js';

export type StateChange =
  | { kind: 'connection'; id: string; connection: ConnectionRecord | undefined }
  | { kind: 'subscription'; id: string; subscription: SubscriptionRecord | undefined };

/**
 * Typed view of the service state (connections, subscriptions) and the
 * Salesforce checkpoints, both kept in compacted topics so that any instance
 * can rebuild them from Kafka alone.
 */
export class ServiceStore {
  readonly #state: CompactedStore<StateRecord>;
  readonly #checkpoints: CompactedStore<Checkpoint>;

  readonly #instanceId: string | undefined;
  /** Per connect session, the claim that came first in the log (see claimConnectSession). */
  readonly #firstClaim = new Map<string, string>();

  constructor(opts: { client: KafkaClient; stateTopic: string; checkpointTopic: string; logger: Logger; instanceId?: string }) {
    const common = { client: opts.client, logger: opts.logger, ...(opts.instanceId ? { instanceId: opts.instanceId } : {}) };
    this.#instanceId = opts.instanceId;
    this.#state = new CompactedStore({ ...common, topic: opts.stateTopic, schema: StateRecordSchema });
    this.#checkpoints = new CompactedStore({ ...common, topic: opts.checkpointTopic, schema: CheckpointSchema });
    // Registered before start, so the records that rebuild the state pass here too, in log order.
    this.#state.onChange((key, value) => {
      if (value?.kind === 'connectSessionClaim') {
        if (!this.#firstClaim.has(value.claim.sessionId)) this.#firstClaim.set(value.claim.sessionId, value.claim.claimId);
      } else if (value === undefined && key.startsWith('connect-session:')) {
        this.#firstClaim.delete(key.slice('connect-session:'.length));
      } else if (value === undefined && key.startsWith('connect-session-claim:')) {
        // Claims are removed only once their session is gone (see deleteConnectSession).
        const [, sessionId, claimId] = key.split(':');
        if (sessionId && this.#firstClaim.get(sessionId) === claimId) this.#firstClaim.delete(sessionId);
      }
    });
  }

  /** Resolves once both topics were read to their end. */
  async start(): Promise<void> {
    await Promise.all([this.#state.start(), this.#checkpoints.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.#state.stop(), this.#checkpoints.stop()]);
  }

  connections(): ConnectionRecord[] {
    const out: ConnectionRecord[] = [];
    for (const [, v] of this.#state.entries()) if (v.kind === 'connection') out.push(v.connection);
    return out;
  }

  connection(id: string): ConnectionRecord | undefined {
    const v = this.#state.get(stateKey.connection(id));
    return v?.kind === 'connection' ? v.connection : undefined;
  }

  subscriptions(connectionId?: string): SubscriptionRecord[] {
    const out: SubscriptionRecord[] = [];
    for (const [, v] of this.#state.entries()) {
      if (v.kind === 'subscription' && (connectionId === undefined || v.subscription.connectionId === connectionId)) out.push(v.subscription);
    }
    return out;
  }

  subscription(id: string): SubscriptionRecord | undefined {
    const v = this.#state.get(stateKey.subscription(id));
    return v?.kind === 'subscription' ? v.subscription : undefined;
  }

  putConnection(c: ConnectionRecord): Promise<void> {
    return this.#state.put(stateKey.connection(c.id), { kind: 'connection', connection: c });
  }

  deleteConnection(id: string): Promise<void> {
    return this.#state.delete(stateKey.connection(id));
  }

  putSubscription(s: SubscriptionRecord): Promise<void> {
    return this.#state.put(stateKey.subscription(s.id), { kind: 'subscription', subscription: s });
  }

  deleteSubscription(id: string): Promise<void> {
    return this.#state.delete(stateKey.subscription(id));
  }

  deliveryState(subscriptionId: string): DeliveryStateRecord | undefined {
    const v = this.#state.get(stateKey.delivery(subscriptionId));
    return v?.kind === 'delivery' ? v.delivery : undefined;
  }

  deliveryStates(): DeliveryStateRecord[] {
    const out: DeliveryStateRecord[] = [];
    for (const [, v] of this.#state.entries()) if (v.kind === 'delivery') out.push(v.delivery);
    return out;
  }

  putDeliveryState(d: DeliveryStateRecord): Promise<void> {
    return this.#state.put(stateKey.delivery(d.subscriptionId), { kind: 'delivery', delivery: d });
  }

  deleteDeliveryState(subscriptionId: string): Promise<void> {
    return this.#state.delete(stateKey.delivery(subscriptionId));
  }

  mappings(connectionId: string): MappingRecord[] {
    const out: MappingRecord[] = [];
    for (const [, v] of this.#state.entries()) if (v.kind === 'mapping' && v.mapping.connectionId === connectionId) out.push(v.mapping);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  mapping(connectionId: string, name: string): MappingRecord | undefined {
    const v = this.#state.get(stateKey.mapping(connectionId, name));
    return v?.kind === 'mapping' ? v.mapping : undefined;
  }

  putMapping(m: MappingRecord): Promise<void> {
    return this.#state.put(stateKey.mapping(m.connectionId, m.name), { kind: 'mapping', mapping: m });
  }

  deleteMapping(connectionId: string, name: string): Promise<void> {
    return this.#state.delete(stateKey.mapping(connectionId, name));
  }

  tokenRequest(connectionId: string): TokenRequest | undefined {
    const v = this.#state.get(stateKey.tokenRequest(connectionId));
    return v?.kind === 'tokenRequest' ? v.tokenRequest : undefined;
  }

  putTokenRequest(r: TokenRequest): Promise<void> {
    return this.#state.put(stateKey.tokenRequest(r.connectionId), { kind: 'tokenRequest', tokenRequest: r });
  }

  deleteTokenRequest(connectionId: string): Promise<void> {
    return this.#state.delete(stateKey.tokenRequest(connectionId));
  }

  connectSession(id: string): ConnectSessionRecord | undefined {
    const v = this.#state.get(stateKey.connectSession(id));
    return v?.kind === 'connectSession' ? v.connectSession : undefined;
  }

  connectSessions(): ConnectSessionRecord[] {
    const out: ConnectSessionRecord[] = [];
    for (const [, v] of this.#state.entries()) if (v.kind === 'connectSession') out.push(v.connectSession);
    return out;
  }

  putConnectSession(s: ConnectSessionRecord): Promise<void> {
    return this.#state.put(stateKey.connectSession(s.id), { kind: 'connectSession', connectSession: s });
  }

  /**
   * Bids to redeem a connect session's callback; true for exactly one bidder,
   * whichever instances bid and however often.
   *
   * A compare-and-set through the log: each bid is a record under its own key,
   * and the first bid in log order wins. The state topic has one partition, so
   * log order is one total order that every instance applies in the same way.
   * `put` resolves only once this instance read its own bid back, i.e. after it
   * applied every record before it: if an earlier bid exists, it is known by
   * then. Bids are never compacted away while their session exists (distinct
   * keys), so a restarted instance, or one that replays a callback an hour
   * later, reaches the same verdict. The session must also still be `pending`
   * at that point: a bid from an instance that lagged behind a completion loses.
   */
  async claimConnectSession(sessionId: string): Promise<boolean> {
    const claimId = randomUUID();
    const claim = { sessionId, claimId, claimedAt: new Date().toISOString(), ...(this.#instanceId ? { instanceId: this.#instanceId } : {}) };
    const key = stateKey.connectSessionClaim(sessionId, claimId);
    await this.#state.put(key, { kind: 'connectSessionClaim', claim });
    if (!this.connectSession(sessionId)) {
      // No such session (removed, or a forged id): leave nothing behind.
      await this.#state.delete(key);
      return false;
    }
    return this.#firstClaim.get(sessionId) === claimId && this.connectSession(sessionId)?.status === 'pending';
  }

  /** Removes a finished session and its bids (the session first: a bid on a missing session loses). */
  async deleteConnectSession(id: string): Promise<void> {
    await this.#state.delete(stateKey.connectSession(id));
    const prefix = stateKey.connectSessionClaim(id, '');
    await Promise.all(this.#state.entries().flatMap(([k]) => (k.startsWith(prefix) ? [this.#state.delete(k)] : [])));
  }

  apiKey(id: string): ApiKeyRecord | undefined {
    const v = this.#state.get(stateKey.apiKey(id));
    return v?.kind === 'apiKey' ? v.apiKey : undefined;
  }

  apiKeys(): ApiKeyRecord[] {
    const out: ApiKeyRecord[] = [];
    for (const [, v] of this.#state.entries()) if (v.kind === 'apiKey') out.push(v.apiKey);
    return out;
  }

  putApiKey(k: ApiKeyRecord): Promise<void> {
    return this.#state.put(stateKey.apiKey(k.id), { kind: 'apiKey', apiKey: k });
  }

  deleteApiKey(id: string): Promise<void> {
    return this.#state.delete(stateKey.apiKey(id));
  }

  /** Token requests from this or any other instance. */
  onTokenRequest(listener: (r: TokenRequest) => void): () => void {
    return this.#state.onChange((_key, value) => {
      if (value?.kind === 'tokenRequest') listener(value.tokenRequest);
    });
  }

  /** Changes from this or any other instance, in log order (delivery-state records are not reported). */
  onChange(listener: (change: StateChange) => void): () => void {
    return this.#state.onChange((key, value) => {
      const [kind, ...rest] = key.split(':');
      const id = rest.join(':');
      if (kind === 'connection') listener({ kind, id, connection: value?.kind === 'connection' ? value.connection : undefined });
      else if (kind === 'subscription') listener({ kind, id, subscription: value?.kind === 'subscription' ? value.subscription : undefined });
    });
  }

  cdcCheckpoint(connectionId: string, channel: string): Extract<Checkpoint, { kind: 'cdc' }> | undefined {
    const v = this.#checkpoints.get(checkpointKey.cdc(connectionId, channel));
    return v?.kind === 'cdc' ? v : undefined;
  }

  pollCheckpoint(connectionId: string, object: string): Extract<Checkpoint, { kind: 'poll' }> | undefined {
    const v = this.#checkpoints.get(checkpointKey.poll(connectionId, object));
    return v?.kind === 'poll' ? v : undefined;
  }

  /** Every replay position and polling cursor, of every connection. */
  checkpoints(): Checkpoint[] {
    return this.#checkpoints.entries().map(([, v]) => v);
  }

  /** Reads back of this connection that are not finished (an overflow's reconcile), where each stands. */
  reconcileCheckpoints(connectionId: string): Extract<Checkpoint, { kind: 'reconcile' }>[] {
    const out: Extract<Checkpoint, { kind: 'reconcile' }>[] = [];
    for (const [, v] of this.#checkpoints.entries()) if (v.kind === 'reconcile' && v.connectionId === connectionId) out.push(v);
    return out;
  }

  putCheckpoint(c: Checkpoint): Promise<void> {
    return this.#checkpoints.put(keyOf(c), c);
  }

  deleteReconcileCheckpoint(connectionId: string, object: string): Promise<void> {
    return this.#checkpoints.delete(checkpointKey.reconcile(connectionId, object));
  }

  /** An object's poll position, once another reader (the stream) owns its changes. */
  deletePollCheckpoint(connectionId: string, object: string): Promise<void> {
    return this.#checkpoints.delete(checkpointKey.poll(connectionId, object));
  }

  async deleteCheckpoints(connectionId: string): Promise<void> {
    const mine = this.#checkpoints.entries().filter(([, v]) => v.connectionId === connectionId);
    await Promise.all(mine.map(([k]) => this.#checkpoints.delete(k)));
  }
}

function keyOf(c: Checkpoint): string {
  switch (c.kind) {
    case 'cdc':
      return checkpointKey.cdc(c.connectionId, c.channel);
    case 'poll':
      return checkpointKey.poll(c.connectionId, c.object);
    case 'reconcile':
      return checkpointKey.reconcile(c.connectionId, c.object);
  }
}
