/** How a scenario's counts become a verdict: nothing lost, duplicates only under their first copy's id. */

export interface Counts {
  changes: number;
  published: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** No duplicate under another id than its first copy's, and no id shared by two changes. */
  duplicatesWithSameId: boolean;
  duplicatesSameId?: number;
  duplicatesOtherId?: number;
}

export interface ScenarioResult extends Counts {
  ok: boolean;
  ms?: number;
  notes?: string[];
  [k: string]: unknown;
}

export interface Expectations {
  /**
   * The scenario moves a followed object between streaming and polling or reconcile, where the service cannot
   * always prove a row is a change it streamed: the same change may then reach consumers under two ids
   * (a duplicate, never a loss). Without it, every duplicate must carry its first copy's id.
   */
  duplicatesUnderAnotherId?: boolean;
}

export function verdict(
  c: Counts & { invalid?: number; missing?: string[]; idCollisions?: number },
  extra: Record<string, unknown> = {},
  expect: Expectations = {},
): ScenarioResult {
  const allowed = expect.duplicatesUnderAnotherId === true;
  return {
    ...c,
    ...(c.missing ? { missing: c.missing.slice(0, 20) } : {}),
    duplicatesUnderAnotherIdAllowed: allowed,
    ok: c.lost === 0 && (c.duplicatesWithSameId || (allowed && (c.idCollisions ?? 0) === 0)) && c.changes > 0 && (c.invalid ?? 0) === 0,
    ...extra,
  };
}
