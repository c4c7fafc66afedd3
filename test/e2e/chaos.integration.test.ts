/**
 * The quick subset of the reliability suite (`npm run chaos`, chaos/): fuzzing of the /v1 API and of the
 * normalizer, one emulator fault (expired access tokens), and a webhook endpoint down for a scaled-down day
 * (DLQ, then redeliver). Each counts every change of the emulator's own change log (chaos/ledger.ts): 0 lost,
 * duplicates under the id of their first copy unless the scenario expects duplicates under another id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import type { Ctx } from '../../chaos/lib.js';
import { runScenarios } from '../../chaos/runner.js';
import { SCENARIOS } from '../../chaos/scenarios/index.js';
import { hasTestBrokers, testBrokers } from '../../testkit/kafka/brokers.js';
import { CDC_TRANSPORTS, startTestEmulator, transportEnv, type CdcTransportName } from '../../testkit/service.js';

let emulator: RunningEmulator;
const ctxFor = (transport: CdcTransportName): Ctx => ({
  brokers: hasTestBrokers() ? testBrokers() : [],
  emulator,
  quick: true,
  log: () => {},
  transportEnv: transportEnv(emulator, transport),
});
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

describe.skipIf(!hasTestBrokers()).each(CDC_TRANSPORTS)('reliability suite, quick subset, over %s', (transport) => {
  it.each(SCENARIOS.filter((s) => s.quick).map((s) => [s.name, s] as const))(
    '%s: nothing lost, duplicates as the scenario expects',
    async (_name, scenario) => {
      const { [scenario.name]: r } = await runScenarios(ctxFor(transport), [scenario]);
      expect(r!.error).toBeUndefined();
      expect(r!.changes).toBeGreaterThan(0);
      expect(r!.missing ?? []).toEqual([]);
      expect(r!.lost).toBe(0);
      // Duplicates under another id only where the scenario moves objects between streaming and polling.
      if (!r!.duplicatesUnderAnotherIdAllowed) expect(r!.duplicatesWithSameId).toBe(true);
      expect(r!.idCollisions ?? 0).toBe(0);
      expect(r!.ok, JSON.stringify(r)).toBe(true);
    },
    180_000,
  );
});
