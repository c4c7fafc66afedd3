/**
 * An admin's day on a busy org: under steady activity on Lead and Contact, entities leave the CDC selection
 * and come back (their channels go quiet, the service notices from the selection and polls them, then streams
 * them again) and the Recycle Bin is emptied (getDeleted's log is purged: deletions it no longer lists are
 * found by checking the records the service knows). Every change committed must reach Kafka and the receiver
 * (0 lost). The accounting listens to every commit, not to the change events: a deselected entity's changes
 * make none. Objects move between streaming and polling, so duplicates under another id are expected.
 *
 * Then, still under activity, a change past 1 MB to a custom object's record (sent only as a GAP_UPDATE, read
 * back by the service) and an Account deleted with more Contacts than the org's overflow threshold (their
 * deletions sent only as a GAP_OVERFLOW, read back too).
 *
 * The day is a list of steps run in order. A step that needs what the emulator does not do yet is listed with
 * `pending` and reported as skipped, so that it is added by giving it a `run`.
 */
import { orgUser } from '../../testkit/service.js';
import {
  activity,
  adminCall,
  fault,
  inProcessInstance,
  prefixFor,
  sleep,
  steadyOrg,
  verdict,
  waitUntil,
  type Ctx,
  type EventsReader,
  type OrgCredentials,
  type Scenario,
} from '../lib.js';

/** The objects the activity writes. */
const OBJECTS = ['Lead', 'Contact'];
/** A custom object with room for a change past 1 MB: four long text areas of 131,072 characters. */
const DOC = {
  name: 'Doc__c',
  fields: [
    ...['A__c', 'B__c', 'C__c', 'D__c'].map((name) => ({ name, type: 'LongTextArea', length: 131_072 })),
    { name: 'Status__c', type: 'Text', length: 40 },
  ],
};
/** What the service follows and the ledger counts. */
const FOLLOWED = [...OBJECTS, DOC.name];
/** Small enough for a cascade delete to pass; far above what one activity transaction changes (one record). */
const OVERFLOW_THRESHOLD = 50;
const CONTACTS_OF_ACCOUNT = 60;

interface View {
  subscriber: string;
  warnings: { code: string }[];
  objects: { object: string; mode: string }[];
}

interface Day {
  ctx: Ctx;
  orgId: string;
  org: OrgCredentials;
  reader: EventsReader;
  view(): Promise<View>;
  /** How long to let activity run between steps. */
  pauseMs: number;
  notes: string[];
}

interface Step {
  name: string;
  run?(day: Day): Promise<void>;
  /** Why the step cannot run yet; it is skipped and named in the result. */
  pending?: string;
}

const setSelection = (day: Day, entities: string[]) => adminCall(day.ctx, 'PUT', `/__emulator/orgs/${day.orgId}/cdc-entities`, { entities });

const modeIs = (day: Day, object: string, mode: string) => async () => (await day.view()).objects.find((o) => o.object === object)?.mode === mode;

const allStreamed = (day: Day) => async () => {
  const v = await day.view();
  return v.subscriber === 'running' && v.objects.every((o) => o.mode === 'cdc');
};

function deselect(object: string): Step {
  return {
    name: `deselect-${object}`,
    async run(day) {
      await setSelection(
        day,
        FOLLOWED.filter((o) => o !== object),
      );
      await waitUntil(modeIs(day, object, 'polling'), 30_000, `${object} polled`);
      await sleep(day.pauseMs);
    },
  };
}

const reselectAll: Step = {
  name: 'reselect-all',
  async run(day) {
    await setSelection(day, FOLLOWED);
    await waitUntil(allStreamed(day), 30_000, 'every object streamed again');
    await sleep(day.pauseMs);
  },
};

/** While Lead is polled: the Recycle Bin emptied; the next getDeleted window (a minute at most) finds it out. */
const purgeDeleteLog: Step = {
  name: 'purge-delete-log',
  async run(day) {
    await fault(day.ctx, day.orgId, { kind: 'purge-delete-log' });
    await waitUntil(async () => (await day.view()).warnings.some((w) => w.code === 'delete_log_purged'), 90_000, 'the purge noticed');
    day.notes.push('delete_log_purged warned');
  },
};

const short = (id: string): string => id.slice(0, 15);

/** Waits until the events topic holds a read-back copy (detectedBy reconcile) of type `type` for every record of `ids`. */
async function readBack(day: Day, ids: string[], type: string, what: string): Promise<void> {
  const found = (): Set<string> => new Set(day.reader.events.filter((e) => e.type === type && e.data.detectedBy === 'reconcile').map((e) => short(e.subject)));
  await waitUntil(() => ids.every((id) => found().has(short(id))), 90_000, what).catch((err: Error) => {
    throw new Error(`${err.message}: ${ids.filter((id) => found().has(short(id))).length} of ${ids.length}`);
  });
}

/** A 1.5 MB write of three-byte characters to a Doc__c record: only a GAP_UPDATE goes out. */
const largeChange: Step = {
  name: 'large-change',
  async run(day) {
    const user = orgUser(day.org);
    const doc = (await user.sobject(DOC.name).create({ Status__c: 'draft' })) as { id: string };
    // Stamps are whole seconds: the update comes in a later one, so that its read back is not the creation.
    await sleep(1_100);
    const big = '€'.repeat(131_072);
    await user.sobject(DOC.name).update({ Id: doc.id, Status__c: 'final', A__c: big, B__c: big, C__c: big, D__c: big });
    await readBack(day, [doc.id], 'salesforce.record.updated', 'the large change read back');
    day.notes.push(`large-change: ${doc.id} read back`);
    await sleep(day.pauseMs);
  },
};

/** An Account with more Contacts than the overflow threshold, deleted: the Contacts' deletions past it only as a GAP_OVERFLOW. */
const cascadeDeleteOverflow: Step = {
  name: 'cascade-delete-overflow',
  async run(day) {
    const user = orgUser(day.org);
    const account = (await user.sobject('Account').create({ Name: 'Admin day parent' })) as { id: string };
    const contacts: string[] = [];
    // Created in transactions below the threshold: these stream as change events.
    for (let i = 0; i < CONTACTS_OF_ACCOUNT; i += 20) {
      const rows = Array.from({ length: 20 }, (_, j) => ({ LastName: `Child ${i + j}`, AccountId: account.id }));
      const created = (await user.sobject('Contact').create(rows, { allOrNone: true })) as { id: string }[];
      contacts.push(...created.map((c) => c.id));
    }
    await sleep(1_100);
    await user.sobject('Account').destroy(account.id);
    // The deletions within the threshold stream; the rest are read back. Wait for those.
    await waitUntil(
      () => contacts.every((id) => day.reader.events.some((e) => e.type === 'salesforce.record.deleted' && short(e.subject) === short(id))),
      90_000,
      'every contact deletion on Kafka',
    ).catch((err: Error) => {
      const seen = contacts.filter((id) => day.reader.events.some((e) => e.type === 'salesforce.record.deleted' && short(e.subject) === short(id)));
      throw new Error(`${err.message}: ${seen.length} of ${contacts.length}; missing ${contacts.filter((id) => !seen.includes(id)).join(', ')}`);
    });
    // How the deletions came: streamed (within the threshold) and read back (the GAP_OVERFLOW), per record.
    const by = (detectedBy: string): number =>
      contacts.filter((id) =>
        day.reader.events.some((e) => e.type === 'salesforce.record.deleted' && e.data.detectedBy === detectedBy && short(e.subject) === short(id)),
      ).length;
    day.notes.push(`cascade-delete-overflow: account ${account.id}, ${contacts.length} contacts deleted, ${by('cdc')} streamed, ${by('reconcile')} read back`);
    await sleep(day.pauseMs);
  },
};

export const ADMIN_DAY_STEPS: Step[] = [
  deselect('Lead'),
  reselectAll,
  deselect('Contact'),
  reselectAll,
  deselect('Lead'),
  purgeDeleteLog,
  reselectAll,
  largeChange,
  cascadeDeleteOverflow,
];

export const adminDay: Scenario = {
  name: 'admin-day',
  quick: false,
  timeoutMs: 420_000,
  async run(ctx: Ctx) {
    const prefix = prefixFor('admin-day');
    // Polling every second; the selection checked every second (the service's default is a minute).
    const svc = await inProcessInstance(ctx, { prefix, pollIntervalS: 1, selectionCheckMs: 1_000 });
    const o = await steadyOrg(
      ctx,
      ctx.brokers,
      prefix,
      svc.api,
      FOLLOWED,
      { cdcEntities: FOLLOWED, customObjects: [DOC], overflowThreshold: OVERFLOW_THRESHOLD },
      { source: 'commits' },
    );
    const day: Day = {
      ctx,
      orgId: o.org.orgId,
      org: o.org,
      reader: o.reader,
      view: async () => (await svc.api<View>('GET', `/v1/connections/${o.connectionId}`)).body,
      pauseMs: ctx.quick ? 2_000 : 8_000,
      notes: [],
    };
    const done: string[] = [];
    const skipped: string[] = [];
    try {
      await activity(ctx, o.org.orgId, ctx.quick ? 6 : 20, OBJECTS, 3_600);
      await sleep(day.pauseMs);
      for (const step of ADMIN_DAY_STEPS) {
        if (!step.run) {
          skipped.push(`${step.name} (pending: ${step.pending ?? 'no run'})`);
          continue;
        }
        ctx.log(`admin-day: ${step.name} at ${ctx.emulator.emulator.clock.now()}`);
        await step.run(day);
        done.push(step.name);
      }
      await activity(ctx, o.org.orgId, 0, OBJECTS, 1);
      const c = await o.ledger.settle(o.reader, o.receiver, 120_000);
      // What the consumer saw of each record a change is missing for: tells a loss from a late or merged copy.
      for (const m of c.missing.slice(0, 5)) {
        const recordId = m.split(' ')[1] ?? '';
        const seen = o.reader.events
          .filter((e) => e.subject === recordId)
          .map((e) => `${e.type.replace('salesforce.record.', '')}/${e.data.detectedBy}@${e.data.commitTimestamp}`);
        day.notes.push(`${m}: seen ${seen.join(', ') || 'nothing'}`);
      }
      const v = verdict(c, { steps: done, skipped, notes: day.notes }, { duplicatesUnderAnotherId: true });
      v.ok &&= done.length === ADMIN_DAY_STEPS.filter((s) => s.run).length;
      return v;
    } finally {
      await activity(ctx, o.org.orgId, 0, OBJECTS, 1).catch(() => undefined);
      await svc.stop().catch(() => undefined);
      await o.close();
    }
  },
};
