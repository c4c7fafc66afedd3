import { describe, expect, it } from 'vitest';
import { isKnownTransient, isRetriable } from '../core/errors.js';
import { retry, retryPolicy } from '../core/retry.js';
import { fromSalesforceError, subError } from './rest.js';

describe('Salesforce errors', () => {
  it('a query too wide for the URI or too complex once expanded is not retried', () => {
    for (const errorCode of ['QUERY_TOO_COMPLICATED', 'ERROR_HTTP_414', 'ERROR_HTTP_431']) {
      const err = fromSalesforceError({ errorCode, message: 'refused' });
      expect(isRetriable(err), errorCode).toBe(false);
    }
    // As a composite subresponse: Salesforce's error array, or the front end's page (no errorCode).
    expect(isRetriable(subError({ referenceId: 'q', httpStatusCode: 400, body: [{ errorCode: 'QUERY_TOO_COMPLICATED', message: 'x' }] }, 'poll'))).toBe(false);
    expect(isRetriable(subError({ referenceId: 'q', httpStatusCode: 414, body: '<h1>Bad Message 414</h1>' }, 'poll'))).toBe(false);
  });

  it('an error code nobody listed is retried only as often as a policy allows, a network failure without a cap', async () => {
    const unknown = fromSalesforceError({ errorCode: 'SOMETHING_NEW', message: 'who knows' });
    expect(isRetriable(unknown)).toBe(true);
    expect(isKnownTransient(unknown)).toBe(false);
    expect(isKnownTransient(fromSalesforceError(Object.assign(new Error('socket hang up'), { name: 'FetchError' })))).toBe(true);
    expect(isKnownTransient(fromSalesforceError({ errorCode: 'SERVER_UNAVAILABLE', message: 'busy' }))).toBe(true);
    expect(isKnownTransient(fromSalesforceError({ errorCode: 'UNKNOWN_EXCEPTION', message: 'An unexpected error occurred.' }))).toBe(true);

    let attempts = 0;
    const policy = retryPolicy({ maxAttempts: 3, initialDelayMs: 0, jitter: 0 });
    await expect(
      retry(
        policy,
        async () => {
          attempts++;
          throw unknown;
        },
        { forever: isKnownTransient },
      ),
    ).rejects.toBe(unknown);
    expect(attempts).toBe(3);

    let transient = 0;
    await retry(
      policy,
      async () => {
        if (++transient < 6) throw fromSalesforceError({ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' });
      },
      { forever: isKnownTransient },
    );
    expect(transient).toBe(6);
  });
});
