import type { Ctx, Scenario, ScenarioResult } from './lib.js';

/** Per-scenario bound: a scenario that hangs is reported failed, and the run goes on. */
const SCENARIO_TIMEOUT_MS = 240_000;

export async function runScenarios(
  ctx: Ctx,
  scenarios: Scenario[],
  onResult: (name: string, r: ScenarioResult) => void = () => {},
): Promise<Record<string, ScenarioResult>> {
  const out: Record<string, ScenarioResult> = {};
  for (const s of scenarios) {
    const started = Date.now();
    ctx.log(`${s.name}: start`);
    let timer: NodeJS.Timeout | undefined;
    let r: ScenarioResult;
    try {
      r = await Promise.race([
        s.run(ctx),
        new Promise<never>(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`over ${s.timeoutMs ?? SCENARIO_TIMEOUT_MS} ms`)), s.timeoutMs ?? SCENARIO_TIMEOUT_MS)),
        ),
      ]);
    } catch (err) {
      r = {
        changes: 0,
        published: 0,
        delivered: 0,
        lost: 0,
        duplicates: 0,
        duplicatesWithSameId: true,
        ok: false,
        error: (err as Error).message.slice(0, 500),
      };
    } finally {
      clearTimeout(timer);
    }
    const { changes, published, delivered, lost, duplicates, duplicatesWithSameId, ok, ...rest } = r;
    out[s.name] = { changes, published, delivered, lost, duplicates, duplicatesWithSameId, ms: Date.now() - started, ok, ...rest };
    onResult(s.name, out[s.name]!);
  }
  return out;
}
