import { ForcehookError } from '../core/errors.js';

/** How long /readyz waits on the broker before answering 503. */
export const PING_BUDGET_MS = 2_500;

/**
 * A broker ping for /readyz, whatever the client library: one probe in flight at a time, and a probe
 * that outlives the budget keeps going. On a loaded machine a reconnect can take longer than one
 * readiness budget, and restarting it on every probe would never let it finish.
 */
export function budgetedPing(probe: () => Promise<void>, budgetMs = PING_BUDGET_MS): () => Promise<void> {
  let pinging: Promise<void> | undefined;
  return async () => {
    pinging ??= probe().finally(() => {
      pinging = undefined;
    });
    // Whoever awaits it handles the error; this keeps an abandoned probe from being an unhandled rejection.
    pinging.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ForcehookError('KAFKA_UNAVAILABLE', `kafka ping: no answer within ${budgetMs} ms`, { retriable: true, status: 503 })),
        budgetMs,
      );
    });
    try {
      await Promise.race([pinging, deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}
