/**
 * Waiting on what a test means: a condition, polled until it holds. One place, so that every
 * test, benchmark and chaos scenario reports a timeout the same way.
 */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `pred` holds; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(pred: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition', stepMs = 50): Promise<void> {
  if (!(await waitFor(pred, timeoutMs, stepMs))) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Like waitUntil, but a timeout is an answer (false), not an error: for callers whose counts say what is missing. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) return false;
    await sleep(stepMs);
  }
  return true;
}
