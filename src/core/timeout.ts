import { TransientError } from './errors.js';

/**
 * Rejects with a retriable TIMEOUT after `ms` when `p` has not settled: for calls
 * that have no timeout of their own (jsforce requests, a broker ping).
 */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError('TIMEOUT', `${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
