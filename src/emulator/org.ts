/**
 * One emulated org: its user and connected app, metadata (standard objects
 * shared, custom objects its own), records, CDC selection, API counter and
 * event bus. No timers: everything that ages does so lazily on access.
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import type { Clock } from './clock.js';
import { floorToSecond, sfDateTime } from './clock.js';
import { newId } from './ids.js';
import { ApiCounter, DeliveryAllocation, EDITION_LIMITS, type Edition } from './limits.js';
import { buildCustomObject, STANDARD_OBJECTS, type CustomObjectDef, type Json, type ObjectMeta } from './metadata/objects.js';
import { RecordStore } from './store.js';
import { EventBus } from './streaming/index.js';

export interface OrgUser {
  id: string;
  username: string;
  password: string;
  firstName: string;
  lastName: string;
  email: string;
}

export interface OrgOptions {
  cdcEntities?: string[];
  apiDailyLimit?: number;
  customObjects?: CustomObjectDef[];
  /** Every refresh answers a new refresh token and retires the one used. */
  rotateRefreshTokens?: boolean;
  /** The authorization-code flow requires PKCE: the connected app's "Require Proof Key for Code Exchange". */
  requirePkce?: boolean;
  /** An access token lapses after this long unused. @default the emulator's (2 h) */
  sessionTimeoutMs?: number;
  /** A refresh token lapses after this long unused. @default never */
  refreshTokenIdleMs?: number;
  /** @default 'unlimited' */
  edition?: Edition;
  /** Events delivered to streaming clients per rolling 24 h. @default the edition's */
  eventDeliveryDailyLimit?: number;
  /** The org user's system permissions. @default all true */
  permissions?: Partial<OrgPermissions>;
  /** Whether the org's OAuth app is installed (from a package, or from Connected Apps OAuth Usage). @default true */
  appInstalled?: boolean;
  /** Changes one transaction may make before the rest become one GAP_OVERFLOW per entity. @default 100,000 */
  overflowThreshold?: number;
}

/**
 * An OAuth app the org knows: its own connected app, and External Client Apps added later.
 * Uninstalled, it may be authorized only by a user who may approve uninstalled apps.
 */
export interface OrgApp {
  clientId: string;
  clientSecret: string;
  installed: boolean;
}

/**
 * The connecting user's system permissions that change what the APIs answer:
 * "View Setup and Configuration" (the Tooling API's PlatformEventChannelMember, `/limits`),
 * "View All Data" (change events) and "Approve Uninstalled Connected Apps" (authorizing an app that is not installed).
 */
export interface OrgPermissions {
  viewSetup: boolean;
  viewAllData: boolean;
  approveUninstalledApps: boolean;
}

/** The connected app's OAuth policies. */
export interface OAuthPolicy {
  rotateRefreshTokens: boolean;
  requirePkce: boolean;
  sessionTimeoutMs?: number;
  refreshTokenIdleMs?: number;
}

export interface FaultState {
  failStatus: number;
  failCount: number;
  slowMs: number;
  slowCount: number;
}

export interface QueryCursor {
  records: unknown[];
  totalSize: number;
  position: number;
  batchSize: number;
  lastUsed: number;
  scanAll: boolean;
}

export const DEFAULT_API_DAILY_LIMIT = 100_000;
/** Salesforce's: "The first 100,000 changes generate change events." */
export const DEFAULT_OVERFLOW_THRESHOLD = 100_000;

const STANDARD_BY_LOWER = new Map([...STANDARD_OBJECTS.values()].map((m) => [m.name.toLowerCase(), m]));

function secret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export class Org {
  readonly id: string;
  readonly createdAt: number;
  readonly user: OrgUser;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly store = new RecordStore();
  readonly bus: EventBus;
  readonly api: ApiCounter;
  readonly edition: Edition;
  /** Concurrent Streaming API clients, across all channels. */
  readonly maxStreamingClients: number;
  readonly deliveries: DeliveryAllocation;
  readonly overflowThreshold: number;
  /** null = every entity, as with the CDC add-on. Canonical object names. */
  cdcEntities: Set<string> | null = null;
  readonly faults: FaultState = { failStatus: 0, failCount: 0, slowMs: 0, slowCount: 0 };
  eventsPublished = 0;
  /**
   * In-process observers of every committed change as a change event, its entity selected for CDC or not
   * (a deselected entity's changes are only in the records; those past the overflow threshold only in a
   * GAP_OVERFLOW): what a test's accounting counts as happened. Published events carry their replayId.
   */
  readonly commitObservers = new Set<(changes: { payload: Record<string, unknown>; replayId?: number }[]) => void>();
  readonly oauth: OAuthPolicy;
  /** Changed at runtime by the admin API, as an admin edits the user's profile. */
  permissions: OrgPermissions;
  /** OAuth apps by client id; the first is the org's own (`clientId`). */
  readonly apps = new Map<string, OrgApp>();
  /** Refresh-token grants answered, and those that presented a token already rotated away. */
  readonly tokenStats = { refreshes: 0, rotatedReuses: 0 };
  /** Where the org answers once it moved (fault move-instance); undefined: the emulator's own URL. */
  instanceUrl: string | undefined;
  /** Open query cursors (nextRecordsUrl locators), dropped when idle or too many. */
  readonly cursors = new Map<string, QueryCursor>();
  /** `campaignId:leadOrContactId` of live members: Salesforce refuses a second membership. */
  readonly campaignMembers = new Set<string>();
  private readonly custom = new Map<string, ObjectMeta>();
  private readonly customDefs = new Map<string, CustomObjectDef>();
  private customPrefixSeq = 1;
  private caseNumber = 1000;

  constructor(
    readonly clock: Clock,
    opts: OrgOptions = {},
  ) {
    this.id = newId('00D');
    this.createdAt = floorToSecond(clock.now());
    const userId = newId('005');
    const short = this.id.slice(-8).toLowerCase();
    this.user = {
      id: userId,
      username: `admin@${short}.emulator.forcehook.dev`,
      password: secret(12),
      firstName: 'Emulated',
      lastName: 'Admin',
      email: `admin@${short}.emulator.forcehook.dev`,
    };
    this.clientId = `3MVG9${secret(30)}`;
    this.clientSecret = randomBytes(32).toString('hex').toUpperCase();
    this.apps.set(this.clientId, { clientId: this.clientId, clientSecret: this.clientSecret, installed: opts.appInstalled ?? true });
    this.bus = new EventBus({ now: () => clock.now() });
    this.api = new ApiCounter(opts.apiDailyLimit ?? DEFAULT_API_DAILY_LIMIT);
    this.oauth = {
      rotateRefreshTokens: opts.rotateRefreshTokens ?? false,
      requirePkce: opts.requirePkce ?? false,
      ...(opts.sessionTimeoutMs ? { sessionTimeoutMs: opts.sessionTimeoutMs } : {}),
      ...(opts.refreshTokenIdleMs ? { refreshTokenIdleMs: opts.refreshTokenIdleMs } : {}),
    };
    this.permissions = { viewSetup: true, viewAllData: true, approveUninstalledApps: true, ...opts.permissions };
    this.edition = opts.edition ?? 'unlimited';
    this.maxStreamingClients = EDITION_LIMITS[this.edition].streamingClients;
    this.deliveries = new DeliveryAllocation(opts.eventDeliveryDailyLimit ?? EDITION_LIMITS[this.edition].eventDelivery);
    this.overflowThreshold = opts.overflowThreshold ?? DEFAULT_OVERFLOW_THRESHOLD;
    for (const def of opts.customObjects ?? []) this.addCustomObject(def);
    if (opts.cdcEntities) this.setCdcEntities(opts.cdcEntities);
    this.insertUserRow();
  }

  /** Another OAuth app for this org (an External Client App), with its own credentials. */
  addApp(installed: boolean): OrgApp {
    const app = { clientId: `3MVG9${secret(30)}`, clientSecret: randomBytes(32).toString('hex').toUpperCase(), installed };
    this.apps.set(app.clientId, app);
    return app;
  }

  private insertUserRow(): void {
    const ts = sfDateTime(this.createdAt);
    const u = this.user;
    this.store.put({
      id: u.id,
      object: 'User',
      values: {
        Id: u.id,
        Username: u.username,
        FirstName: u.firstName,
        LastName: u.lastName,
        Name: `${u.firstName} ${u.lastName}`,
        Email: u.email,
        Alias: 'eadmin',
        IsActive: true,
        TimeZoneSidKey: 'America/Los_Angeles',
        LocaleSidKey: 'en_US',
        LanguageLocaleKey: 'en_US',
        EmailEncodingKey: 'UTF-8',
        UserType: 'Standard',
        CreatedDate: ts,
        CreatedById: u.id,
        LastModifiedDate: ts,
        LastModifiedById: u.id,
        SystemModstamp: ts,
      },
    });
  }

  object(name: string): ObjectMeta | undefined {
    const lower = name.toLowerCase();
    return STANDARD_BY_LOWER.get(lower) ?? this.custom.get(lower);
  }

  objects(): ObjectMeta[] {
    return [...STANDARD_OBJECTS.values(), ...this.custom.values()];
  }

  objectForPrefix(prefix: string): ObjectMeta | undefined {
    for (const meta of STANDARD_OBJECTS.values()) if (meta.keyPrefix === prefix) return meta;
    for (const meta of this.custom.values()) if (meta.keyPrefix === prefix) return meta;
    return undefined;
  }

  addCustomObject(def: CustomObjectDef): ObjectMeta {
    if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(def.name)) throw new ValidationError(`customObjects: name must end in __c: ${def.name}`);
    if (this.object(def.name)) throw new ValidationError(`customObjects: ${def.name} already exists`);
    for (const f of def.fields ?? []) {
      if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(f.name)) throw new ValidationError(`customObjects: field name must end in __c: ${f.name}`);
    }
    const prefix = `a${this.customPrefixSeq.toString(36).padStart(2, '0')}`;
    this.customPrefixSeq++;
    const meta = buildCustomObject(def, prefix);
    this.custom.set(def.name.toLowerCase(), meta);
    this.customDefs.set(meta.name, def);
    return meta;
  }

  /**
   * Adds fields to a custom object, as a metadata deploy does: the object keeps its key prefix and
   * records, and its change event schema (a fingerprint of its fields) gets a new id.
   */
  addCustomFields(name: string, fields: NonNullable<CustomObjectDef['fields']>): ObjectMeta {
    const old = this.custom.get(name.toLowerCase());
    const def = old ? this.customDefs.get(old.name) : undefined;
    if (!old || !def) throw new ValidationError(`fields: unknown custom object ${name}`);
    for (const f of fields) {
      if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(f.name)) throw new ValidationError(`fields: field name must end in __c: ${f.name}`);
      if (old.byLower.has(f.name.toLowerCase())) throw new ValidationError(`fields: ${f.name} already exists`);
    }
    const next = { ...def, fields: [...(def.fields ?? []), ...fields] };
    const meta = buildCustomObject(next, old.keyPrefix);
    this.custom.set(old.name.toLowerCase(), meta);
    this.customDefs.set(old.name, next);
    return meta;
  }

  /**
   * Deletes a custom field, as an admin does in Setup: gone from the describe, from queries and
   * writes; values the records held are dropped with it. Standard fields cannot be deleted.
   */
  deleteCustomField(objectName: string, fieldName: string): boolean {
    const meta = this.object(objectName);
    const field = meta?.byLower.get(fieldName.toLowerCase());
    if (!meta || !field || !field.name.endsWith('__c')) return false;
    const i = meta.fields.indexOf(field);
    if (i >= 0) meta.fields.splice(i, 1);
    meta.byLower.delete(fieldName.toLowerCase());
    for (const r of this.store.table(meta.name).values()) delete r.values[field.name];
    return true;
  }

  /** Accepts `Account` or `AccountChangeEvent` / `Invoice__ChangeEvent`. */
  resolveEntity(raw: string): ObjectMeta | undefined {
    const name = raw.endsWith('__ChangeEvent') ? `${raw.slice(0, -'__ChangeEvent'.length)}__c` : raw.replace(/ChangeEvent$/, '');
    return this.object(name);
  }

  setCdcEntities(entities: string[]): void {
    const set = new Set<string>();
    for (const raw of entities) {
      const meta = this.resolveEntity(raw);
      if (!meta) throw new ValidationError(`cdcEntities: unknown entity ${raw}`);
      set.add(meta.name);
    }
    this.cdcEntities = set;
  }

  isCdcSelected(meta: ObjectMeta): boolean {
    return this.cdcEntities === null || this.cdcEntities.has(meta.name);
  }

  selectedEntities(): ObjectMeta[] {
    return this.objects().filter((m) => this.isCdcSelected(m));
  }

  nextCaseNumber(): string {
    return String(++this.caseNumber).padStart(8, '0');
  }

  /** Standard child relationships plus those custom lookups add. */
  childRelationships(meta: ObjectMeta): Json[] {
    const base = (meta.describeTemplate.childRelationships as Json[] | undefined) ?? [];
    const extra: Json[] = [];
    for (const c of this.custom.values()) {
      for (const f of c.fields) {
        if (f.type === 'reference' && f.describe.custom === true && f.referenceTo.includes(meta.name)) {
          extra.push({
            cascadeDelete: false,
            childSObject: c.name,
            deprecatedAndHidden: false,
            field: f.name,
            junctionIdListNames: [],
            junctionReferenceTo: [],
            relationshipName: `${c.name.slice(0, -3)}s__r`,
            restrictedDelete: false,
          });
        }
      }
    }
    return [...base, ...extra];
  }
}
