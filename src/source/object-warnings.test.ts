import { describe, expect, it } from 'vitest';
import { fromSalesforceError } from '../salesforce/rest.js';
import { ObjectWarnings } from './object-warnings.js';

describe('ObjectWarnings', () => {
  it('shows a refused read on the connection until the object is read again; passing failures show nothing', () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const w = new ObjectWarnings(() => t);
    expect(w.failed('Wide__c', fromSalesforceError({ errorCode: 'SERVER_UNAVAILABLE', message: 'busy' }))).toBe(false);
    expect(w.list()).toEqual([]);

    expect(w.failed('Wide__c', fromSalesforceError({ errorCode: 'QUERY_TOO_COMPLICATED', message: 'Query is either selecting too many fields' }))).toBe(true);
    t += 60_000;
    w.failed('wide__c', fromSalesforceError({ errorCode: 'ERROR_HTTP_414', message: 'URI Too Long' }));
    expect(w.list()).toEqual([{ code: 'object_read_refused', message: expect.stringContaining('ERROR_HTTP_414'), since: '2026-01-01T00:00:00.000Z' }]);
    // An error code nobody classified is shown too: it is retried only a few times.
    w.failed('Lead', fromSalesforceError({ errorCode: 'BRAND_NEW_CODE', message: '?' }));
    expect(w.list().map((x) => x.message)).toEqual([expect.stringMatching(/wide__c/i), expect.stringContaining('BRAND_NEW_CODE')]);

    w.succeeded('WIDE__C');
    w.succeeded('Lead');
    expect(w.list()).toEqual([]);
  });
});
