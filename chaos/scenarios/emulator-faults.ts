/**
 * 4. Each fault of the emulator's admin API, injected during steady activity on the org's Leads.
 * - expire-access-tokens, drop-streaming-clients: injected twice;
 * - fail-requests (503 ×5), slow-requests (1.5 s ×5);
 * - revoke-refresh-tokens: the connection goes to needs_reauth and its subscriber stops; a person re-approves
 *   (web-server flow → a fresh refresh token) and the connection is posted again; changes made while revoked
 *   must come from CDC replay;
 * - expire-replay: the service stopped across it, so the changes made meanwhile must be reconciled via REST.
 *   Reconcile reads states, not changes: a change of that window that is not delivered but superseded by a
 *   later delivered change of the same record counts as `superseded`, not `lost` (README, Reliability suite).
 *   The restarted instance's reconcile reads again, under row ids, changes it had streamed before the stop:
 *   duplicates under another id are expected there.
 */
import { channelFor } from '../../src/salesforce/channels.js';
import {
  activity,
  fault,
  freshRefreshToken,
  inProcessInstance,
  prefixFor,
  sleep,
  steadyOrg,
  verdict,
  waitUntil,
  type Ctx,
  type Instance,
  type Scenario,
  type ScenarioResult,
} from '../lib.js';

type Kind = 'expire-access-tokens' | 'revoke-refresh-tokens' | 'drop-streaming-clients' | 'fail-requests' | 'slow-requests' | 'expire-replay';

function scenario(kind: Kind, quick: boolean): Scenario {
  return {
    name: `fault-${kind}`,
    quick,
    async run(ctx: Ctx): Promise<ScenarioResult> {
      const prefix = prefixFor(kind);
      let svc: Instance = await inProcessInstance(ctx, { prefix });
      const o = await steadyOrg(ctx, ctx.brokers, prefix, (...a) => svc.api(...a));
      const seconds = ctx.quick ? 8 : 12;
      const started = Date.now();
      const extra: Record<string, unknown> = {};
      let replayLostSince: number | undefined;
      try {
        await activity(ctx, o.org.orgId, 15, ['Lead'], seconds);
        await sleep(2_500);
        switch (kind) {
          case 'expire-access-tokens':
          case 'drop-streaming-clients':
            await fault(ctx, o.org.orgId, { kind });
            await sleep(3_000);
            await fault(ctx, o.org.orgId, { kind });
            break;
          case 'fail-requests':
            await fault(ctx, o.org.orgId, { kind, status: 503, count: 5 });
            break;
          case 'slow-requests':
            await fault(ctx, o.org.orgId, { kind, ms: 1_500, count: 5 });
            break;
          case 'revoke-refresh-tokens': {
            const before = o.ledger.snapshot().size;
            await fault(ctx, o.org.orgId, { kind });
            await waitUntil(
              async () => (await svc.api<{ status: string }>('GET', `/v1/connections/${o.connectionId}`)).body.status === 'needs_reauth',
              30_000,
              'needs_reauth',
            );
            await sleep(3_000); // changes keep coming while nobody follows the org
            const refreshToken = await freshRefreshToken(o.org);
            const atReauth = o.ledger.snapshot().size;
            const again = await svc.api<{ id: string }>('PUT', `/v1/connections/${o.connectionId}/credentials`, { refreshToken });
            if (again.status !== 200 || again.body.id !== o.connectionId) throw new Error(`re-auth: ${again.status} ${again.text}`);
            extra.changesWhileRevoked = atReauth - before;
            break;
          }
          case 'expire-replay': {
            const stoppedAt = Date.now();
            await svc.stop();
            // Where the restarted instance resumes (and, the replayId being gone, reconciles) from.
            const cp = svc.service!.store.cdcCheckpoint(o.connectionId, channelFor('Lead'));
            if (!cp) throw new Error('no CDC checkpoint after stop');
            replayLostSince = cp.commitTimestamp;
            await sleep(2_000);
            await fault(ctx, o.org.orgId, { kind });
            await sleep(1_000);
            svc = await inProcessInstance(ctx, { prefix });
            extra.changesWhileDown = o.ledger.committedBetween(stoppedAt, Date.now());
            break;
          }
        }
        await sleep(Math.max(0, seconds * 1000 - (Date.now() - started)) + 1_000);
        // After an expired replay window, reconcile reads each record's current state: a record changed twice
        // in the window yields one event, for its latest change. The window runs from the checkpoint to the
        // reconcile's read (after the stream was live again: later changes are streamed one by one).
        const window = () => {
          if (replayLostSince === undefined) return undefined;
          const read = o.reader.events.filter((e) => e.data.detectedBy === 'reconcile').map((e) => Number(e.content.split(' ')[2]));
          return read.length > 0 ? { sinceMs: replayLostSince, untilMs: Math.max(...read) } : undefined;
        };
        const c = await o.ledger.settle(o.reader, o.receiver, 60_000, window);
        if (kind === 'expire-replay') {
          extra.reconciled = o.reader.events.filter((e) => e.data.detectedBy === 'reconcile').length;
          const w = window();
          extra.latestStateWindowMs = w ? w.untilMs - w.sinceMs : null;
        }
        // After a restart the service no longer knows what it streamed before: its reconcile, reaching back the
        // overlap margin before the checkpoint, reads changes already streamed as rows, under row ids.
        return verdict(c, extra, { duplicatesUnderAnotherId: kind === 'expire-replay' });
      } finally {
        await svc.stop().catch(() => undefined);
        await o.close();
      }
    },
  };
}

export const emulatorFaults: Scenario[] = [
  scenario('expire-access-tokens', true),
  scenario('revoke-refresh-tokens', false),
  scenario('drop-streaming-clients', false),
  scenario('fail-requests', false),
  scenario('slow-requests', false),
  scenario('expire-replay', false),
];
