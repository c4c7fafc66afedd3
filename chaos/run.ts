/**
 * `npm run chaos`: the reliability suite. Runs each scenario (bounded in time, stopping all it started),
 * prints one line per scenario, then one JSON summary line last:
 *   {"scenarios": {name: {changes, published, delivered, lost, duplicates, duplicatesWithSameId, ms, ok, ...}}, "ok"}
 * (`superseded`: changes reported through a later state of their record, not lost; see chaos/ledger.ts.)
 * CHAOS_ONLY=a,b runs those scenarios; CHAOS_QUICK=1 runs the quick subset with shorter activity.
 * KAFKA_BROKERS=host:port uses that broker (the `broker` scenario always starts its own).
 * CHAOS_TRANSPORTS=cometd,pubsub runs the scenarios once per CDC transport (default cometd); the Pub/Sub
 * run's results are under `<scenario>:pubsub`.
 */
import { testLogger } from '../src/core/log.js';
import { startEmulator } from '../src/emulator/server.js';
import { startLocalKafka, type LocalKafka } from '../src/kafka/local/index.js';
import { transportEnv, type CdcTransportName } from '../testkit/service.js';
import type { Ctx, ScenarioResult } from './lib.js';
import { runScenarios } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';

const quick = process.env.CHAOS_QUICK === '1';
const only = (process.env.CHAOS_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length) {
  process.stderr.write(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const chosen = SCENARIOS.filter((s) => (only.length ? only.includes(s.name) : !quick || s.quick));
const transports = (process.env.CHAOS_TRANSPORTS ?? 'cometd')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as CdcTransportName[];
if (transports.length === 0 || transports.some((t) => t !== 'cometd' && t !== 'pubsub')) {
  process.stderr.write(`CHAOS_TRANSPORTS: expected cometd and/or pubsub, got '${process.env.CHAOS_TRANSPORTS}'\n`);
  process.exit(2);
}

let kafka: LocalKafka | undefined;
const brokers = process.env.KAFKA_BROKERS ? process.env.KAFKA_BROKERS.split(',') : [(kafka = await startLocalKafka()).brokers];
const emulator = await startEmulator({ logger: testLogger(), connectTimeoutMs: 2_000, pubsub: transports.includes('pubsub') });
const results: Record<string, ScenarioResult> = {};
try {
  for (const transport of transports) {
    const ctx: Ctx = { brokers, emulator, quick, log: (m) => process.stderr.write(`[chaos] ${m}\n`), transportEnv: transportEnv(emulator, transport) };
    const suffix = transport === 'cometd' ? '' : `:${transport}`;
    const got = await runScenarios(ctx, chosen, (name, r) =>
      process.stdout.write(
        `${name}${suffix}: ${r.ok ? 'ok' : 'FAIL'} changes=${r.changes} published=${r.published} delivered=${r.delivered} lost=${r.lost}${r.superseded !== undefined ? ` superseded=${String(r.superseded)}` : ''} duplicates=${r.duplicates} (same id ${String(r.duplicatesSameId ?? '?')}, other id ${String(r.duplicatesOtherId ?? '?')}${r.duplicatesUnderAnotherIdAllowed ? ', allowed' : ''}) sameId=${r.duplicatesWithSameId} ${r.ms} ms${r.error ? ` error=${String(r.error)}` : ''}\n`,
      ),
    );
    for (const [name, r] of Object.entries(got)) results[`${name}${suffix}`] = { ...r, ...(suffix ? { transport } : {}) };
  }
} finally {
  await emulator.close();
  await kafka?.stop();
}
const ok = Object.values(results).every((r) => r.ok);
process.stdout.write(`${JSON.stringify({ scenarios: results, ok })}\n`);
process.exit(ok ? 0 : 1);
