import { createHash } from 'node:crypto';
import { ValidationError } from '../../core/errors.js';

export interface StreamEvent {
  replayId: number;
  /** The entity channel the event is stored under, e.g. '/data/AccountChangeEvent'. */
  channel: string;
  /** Emulator clock (ms) at publish time; retention is measured against it. */
  createdAt: number;
  payload: Record<string, unknown>;
  schema?: string;
}

export const ALL_CHANGE_EVENTS = '/data/ChangeEvents';
export const DEFAULT_RETENTION_MS = 72 * 3600 * 1000;
/**
 * Salesforce caps retention by time only; the emulator also caps it by count so a long
 * benchmark at thousands of events a second cannot exhaust memory. Events pushed out by
 * the cap behave exactly like expired ones (their replayIds become invalid).
 */
export const DEFAULT_MAX_RETAINED = 200_000;

/** 'Account' -> '/data/AccountChangeEvent', 'Invoice__c' -> '/data/Invoice__ChangeEvent'. */
export function changeEventChannel(entityName: string): string {
  return entityName.endsWith('__c') ? `/data/${entityName.slice(0, -3)}__ChangeEvent` : `/data/${entityName}ChangeEvent`;
}

export function isEntityChangeChannel(channel: string): boolean {
  return channel.startsWith('/data/') && channel.endsWith('ChangeEvent') && channel !== ALL_CHANGE_EVENTS;
}

/** Whether a subscription to `subscribed` receives an event stored under `stored`. */
export function channelReceives(subscribed: string, stored: string): boolean {
  return subscribed === stored || (subscribed === ALL_CHANGE_EVENTS && isEntityChangeChannel(stored));
}

const schemaCache = new Map<string, string>();
/** Salesforce schema ids are 22-char base64url hashes that stay stable while the entity's shape does. */
export function schemaIdFor(key: string): string {
  let id = schemaCache.get(key);
  if (id === undefined) {
    id = createHash('sha256').update(`schema:${key}`).digest('base64url').slice(0, 22);
    schemaCache.set(key, id);
  }
  return id;
}

function entityNameOf(payload: Record<string, unknown>): string | undefined {
  const header = payload['ChangeEventHeader'];
  if (header && typeof header === 'object') {
    const name = (header as Record<string, unknown>)['entityName'];
    if (typeof name === 'string' && name !== '') return name;
  }
  return undefined;
}

export type BusListener = (event: StreamEvent) => void;

/** Serialised `data` of the delivered message, computed once per event however many subscribers get it. */
const dataJson = new WeakMap<StreamEvent, string>();
export function eventDataJson(event: StreamEvent): string {
  let json = dataJson.get(event);
  if (json === undefined) {
    json = JSON.stringify({ schema: event.schema, payload: event.payload, event: { replayId: event.replayId } });
    dataJson.set(event, json);
  }
  return json;
}

/**
 * One org's event stream. Events sit in replayId order in one array (with a moving head
 * instead of shifting), so validity checks and "after N" lookups are binary searches.
 */
export class EventBus {
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly maxRetained: number;
  private events: StreamEvent[] = [];
  private head = 0;
  private lastReplayId = 0;
  private readonly listeners = new Set<BusListener>();

  constructor(opts: { now: () => number; retentionMs?: number; maxRetained?: number }) {
    this.now = opts.now;
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxRetained = opts.maxRetained ?? DEFAULT_MAX_RETAINED;
  }

  /**
   * Stores the event under its entity channel. Publishing to '/data/ChangeEvents' is
   * accepted too and filed under the entity of the header, because subscribers of
   * '/data/ChangeEvents' and of the entity channel must see the same replayId.
   */
  publish(channel: string, payload: Record<string, unknown>, schema?: string): StreamEvent {
    if (!channel.startsWith('/')) throw new ValidationError(`channel must start with '/': ${channel}`);
    const entity = entityNameOf(payload);
    let stored = channel;
    if (channel === ALL_CHANGE_EVENTS) {
      if (!entity) throw new ValidationError('a change event for /data/ChangeEvents needs ChangeEventHeader.entityName');
      stored = changeEventChannel(entity);
    }
    this.evict();
    const event: StreamEvent = {
      replayId: ++this.lastReplayId,
      channel: stored,
      createdAt: this.now(),
      payload,
      schema: schema ?? schemaIdFor(entity ?? stored),
    };
    this.events.push(event);
    if (this.events.length - this.head > this.maxRetained) this.head++;
    this.compact();
    for (const listener of this.listeners) listener(event);
    return event;
  }

  expireAll(): void {
    this.head = this.events.length;
    this.compact();
  }

  retained(): number {
    this.evict();
    return this.events.length - this.head;
  }

  latestReplayId(): number {
    return this.lastReplayId;
  }

  /** A replayId is valid while the event it names is still retained. */
  isValidReplayId(replayId: number): boolean {
    this.evict();
    if (!Number.isInteger(replayId)) return false;
    const i = this.indexAfter(replayId) - 1;
    return i >= this.head && this.events[i]!.replayId === replayId;
  }

  /** Retained events with replayId > `afterReplayId` (pass -Infinity for all) that `channel` receives. */
  eventsAfter(afterReplayId: number, channel?: string): StreamEvent[] {
    this.evict();
    const out: StreamEvent[] = [];
    for (let i = this.indexAfter(afterReplayId); i < this.events.length; i++) {
      const e = this.events[i]!;
      if (channel === undefined || channelReceives(channel, e.channel)) out.push(e);
    }
    return out;
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  /** First index >= head whose replayId is greater than `replayId`. */
  private indexAfter(replayId: number): number {
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.replayId <= replayId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private evict(): void {
    const cutoff = this.now() - this.retentionMs;
    const before = this.head;
    if (this.head < this.events.length && this.events[this.head]!.createdAt < cutoff) {
      // createdAt never decreases along the array while the emulator clock only moves forward,
      // so the first retained event is found by binary search instead of a walk.
      let lo = this.head;
      let hi = this.events.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.events[mid]!.createdAt < cutoff) lo = mid + 1;
        else hi = mid;
      }
      this.head = lo;
    }
    if (this.head !== before) this.compact();
  }

  /** Drops the dead prefix once it dominates, so memory follows what is retained (amortised O(1)). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }
}
