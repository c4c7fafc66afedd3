/**
 * Synthetic activity: creates, updates and deletes at a steady rate through
 * the same write path as REST, so they produce the same records and change
 * events. One process-wide ticker drives every org's activity (no per-org
 * timers); it stops itself when nothing is active.
 */
import { sfDate } from './clock.js';
import { changeOrigin, createRecord, deleteRecord, inTransaction, updateRecord } from './dml.js';
import type { Emulator } from './emulator.js';
import type { FieldMeta, ObjectMeta } from './metadata/objects.js';
import type { Org } from './org.js';
import { SfApiError } from './sf-errors.js';

export const DEFAULT_ACTIVITY_OBJECTS = ['Lead', 'Contact', 'Account', 'Opportunity'];
const TICK_MS = 50;
const KEEP_IDS = 200;
const ORIGIN = changeOrigin('59.0', 'forcehook-emulator-activity');

interface OrgActivity {
  org: Org;
  perSecond: number;
  objects: ObjectMeta[];
  until: number | null;
  started: number;
  owed: number;
  done: number;
  ids: Map<string, string[]>;
  seq: number;
}

export interface ActivityStatus {
  perSecond: number;
  objects: string[];
  until: string | null;
  operations: number;
}

function valueFor(f: FieldMeta, n: number): unknown {
  switch (f.type) {
    case 'boolean':
      return n % 2 === 0;
    case 'int':
      return n % 1000;
    case 'double':
    case 'currency':
    case 'percent':
      return (n % 1000) + 0.5;
    case 'date':
      return sfDate(Date.UTC(2024, 0, 1) + (n % 365) * 86_400_000);
    case 'datetime':
      return new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString();
    case 'email':
      return `user${n}@example.com`;
    case 'url':
      return `https://example.com/${n}`;
    case 'phone':
      return `+1 555 ${String(n % 10_000).padStart(4, '0')}`;
    case 'picklist':
      return f.picklistValues.find((p) => p.active)?.value ?? null;
    case 'reference':
      return null;
    default:
      return `${f.label} ${n}`.slice(0, f.length || 80);
  }
}

export class ActivityScheduler {
  private readonly active = new Map<string, OrgActivity>();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  constructor(private readonly em: Emulator) {}

  start(org: Org, opts: { perSecond: number; objects?: string[]; seconds?: number }): ActivityStatus | null {
    if (opts.perSecond <= 0) {
      this.active.delete(org.id);
      return null;
    }
    const objects = (opts.objects ?? DEFAULT_ACTIVITY_OBJECTS).map((name) => {
      const meta = org.object(name);
      if (!meta) throw new SfApiError(400, [{ message: `unknown object ${name}`, errorCode: 'INVALID_TYPE' }]);
      return meta;
    });
    const now = Date.now();
    const a: OrgActivity = {
      org,
      perSecond: opts.perSecond,
      objects,
      until: opts.seconds ? now + opts.seconds * 1000 : null,
      started: now,
      owed: 0,
      done: 0,
      ids: this.active.get(org.id)?.ids ?? new Map(),
      seq: 0,
    };
    this.active.set(org.id, a);
    this.ensureTimer();
    return this.status(org.id);
  }

  stop(orgId: string): void {
    this.active.delete(orgId);
  }

  status(orgId: string): ActivityStatus | null {
    const a = this.active.get(orgId);
    if (!a) return null;
    return {
      perSecond: a.perSecond,
      objects: a.objects.map((m) => m.name),
      until: a.until === null ? null : new Date(a.until).toISOString(),
      operations: a.done,
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.active.clear();
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.last = Date.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Real time paces activity: the emulator clock may jump, a benchmark's rate may not. */
  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.last;
    this.last = now;
    for (const [orgId, a] of this.active) {
      if (!this.em.org(orgId)) {
        this.active.delete(orgId);
        continue;
      }
      a.owed += (a.perSecond * elapsed) / 1000;
      while (a.owed >= 1) {
        a.owed--;
        this.step(a);
      }
      if (a.until !== null && now >= a.until) this.active.delete(orgId);
    }
    if (this.active.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private step(a: OrgActivity): void {
    const meta = a.objects[a.seq % a.objects.length]!;
    const n = ++a.seq;
    const ids = a.ids.get(meta.name) ?? [];
    a.ids.set(meta.name, ids);
    const roll = n % 10;
    try {
      inTransaction(a.org, ORIGIN, (txn) => {
        if (ids.length === 0 || roll < 5) {
          const id = createRecord(a.org, txn, meta, this.body(a, meta, n));
          ids.push(id);
          if (ids.length > KEEP_IDS) ids.shift();
        } else if (roll < 9 || !meta.describeTemplate.deletable) {
          const id = ids[n % ids.length]!;
          updateRecord(a.org, txn, meta, id, this.change(meta, n));
        } else {
          const id = ids.splice(n % ids.length, 1)[0]!;
          deleteRecord(a.org, txn, meta, id);
        }
      });
      a.done++;
    } catch (err) {
      if (!(err instanceof SfApiError)) throw err;
      // A record deleted through the API meanwhile: forget it and carry on.
      a.ids.set(
        meta.name,
        ids.filter((id) => a.org.store.get(id)?.values.IsDeleted === false),
      );
    }
  }

  private idOf(a: OrgActivity, object: string, n: number): string {
    const known = a.ids.get(object)?.filter((id) => a.org.store.get(id)?.values.IsDeleted === false) ?? [];
    if (known.length > 0) return known[n % known.length]!;
    const meta = a.org.object(object)!;
    const id = inTransaction(a.org, ORIGIN, (txn) => createRecord(a.org, txn, meta, this.body(a, meta, n)));
    a.ids.set(object, [...known, id]);
    return id;
  }

  private body(a: OrgActivity, meta: ObjectMeta, n: number): Record<string, unknown> {
    switch (meta.name) {
      case 'Lead':
        return { FirstName: `Ada${n}`, LastName: `Lovelace${n}`, Company: `Analytical ${n}`, Email: `ada${n}@example.com` };
      case 'Contact':
        return { FirstName: `Grace${n}`, LastName: `Hopper${n}`, Email: `grace${n}@example.com` };
      case 'Account':
        return { Name: `Account ${n}`, BillingCity: 'San Francisco', Industry: 'Technology' };
      case 'Opportunity': {
        // Where campaigns are part of the activity, every other deal is sourced from one (campaign_opportunity.added).
        const withCampaign = Math.floor(n / a.objects.length) % 2 === 0 && a.objects.some((o) => o.name === 'CampaignMember');
        return {
          Name: `Deal ${n}`,
          StageName: 'Prospecting',
          CloseDate: sfDate(Date.UTC(2025, 0, 1)),
          Amount: n * 10,
          ...(withCampaign ? { CampaignId: this.idOf(a, 'Campaign', n) } : {}),
        };
      }
      case 'Campaign':
        return { Name: `Campaign ${n}`, IsActive: true };
      case 'CampaignMember':
        return { CampaignId: this.idOf(a, 'Campaign', n), LeadId: this.newLead(a, n), Status: 'Sent' };
      case 'Case':
        return { Subject: `Case ${n}`, Origin: 'Web' };
      case 'Task':
        return { Subject: `Call ${n}` };
    }
    const body: Record<string, unknown> = {};
    for (const f of meta.fields) {
      if (!f.createable || f.type === 'reference') continue;
      if (f.describe.custom === true || f.name === 'Name') body[f.name] = valueFor(f, n);
    }
    return body;
  }

  private newLead(a: OrgActivity, n: number): string {
    const lead = a.org.object('Lead')!;
    return inTransaction(a.org, ORIGIN, (txn) => createRecord(a.org, txn, lead, this.body(a, lead, n)));
  }

  private change(meta: ObjectMeta, n: number): Record<string, unknown> {
    switch (meta.name) {
      case 'Lead':
        return { Title: `Title ${n}` };
      case 'Contact':
        return { Title: `Title ${n}` };
      case 'Account':
        return { BillingCity: `City ${n}` };
      case 'Opportunity':
        return { Amount: n * 10 };
      case 'Campaign':
        return { Description: `Description ${n}` };
      case 'CampaignMember':
        return { Status: n % 2 === 0 ? 'Responded' : 'Sent' };
      case 'Case':
        return { Subject: `Case ${n}` };
      case 'Task':
        return { Subject: `Call ${n}` };
    }
    const f = meta.fields.find((x) => x.updateable && x.describe.custom === true && x.type !== 'reference') ?? meta.byLower.get('name');
    return f ? { [f.name]: valueFor(f, n) } : {};
  }
}
