/**
 * An admin's day on a busy org: under steady activity on Lead and Contact, entities leave the CDC selection
 * and come back (their channels go quiet, the service notices from the selection and polls them, then streams
 * them again) and the Recycle Bin is emptied (getDeleted's log is purged: deletions it no longer lists are
 * found by checking the records the service knows). Every change committed must reach Kafka and the receiver
 * (0 lost). The accounting listens to every commit, not to the change events: a deselected entity's changes
 * make none. Objects move between streaming and polling, so duplicates under another id are expected.
 *
 * The day is a list of steps run in order. A step that needs what the emulator does not do yet is listed with
 * `pending` and reported as skipped, so that it is added by giving it a `run`.
 */
import { activity, adminCall, fault, inProcessInstance, prefixFor, sleep, steadyOrg, verdict, waitUntil, type Ctx, type Scenario } from '../lib.js';

const OBJECTS = ['Lead', 'Contact'];

interface View {
  subscriber: string;
  warnings: { code: string }[];
  objects: { object: string; mode: string }[];
}

interface Day {
  ctx: Ctx;
  orgId: string;
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
        OBJECTS.filter((o) => o !== object),
      );
      await waitUntil(modeIs(day, object, 'polling'), 30_000, `${object} polled`);
      await sleep(day.pauseMs);
    },
  };
}

const reselectAll: Step = {
  name: 'reselect-all',
  async run(day) {
    await setSelection(day, OBJECTS);
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

export const ADMIN_DAY_STEPS: Step[] = [
  deselect('Lead'),
  reselectAll,
  deselect('Contact'),
  reselectAll,
  deselect('Lead'),
  purgeDeleteLog,
  reselectAll,
  { name: 'large-change', pending: 'a change over 1 MB (a long text area) that the emulator turns into GAP_* events' },
  { name: 'cascade-delete-overflow', pending: 'a cascade delete past overflowThreshold that the emulator turns into GAP_OVERFLOW' },
];

export const adminDay: Scenario = {
  name: 'admin-day',
  quick: false,
  timeoutMs: 420_000,
  async run(ctx: Ctx) {
    const prefix = prefixFor('admin-day');
    // Polling every second; the selection checked every second (the service's default is a minute).
    const svc = await inProcessInstance(ctx, { prefix, pollIntervalS: 1, selectionCheckMs: 1_000 });
    const o = await steadyOrg(ctx, ctx.brokers, prefix, svc.api, OBJECTS, { cdcEntities: OBJECTS }, { source: 'commits' });
    const day: Day = {
      ctx,
      orgId: o.org.orgId,
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
