import { describe, expect, it } from 'vitest';
import { ForcehookError, TerminalError, TransientError, isReauthRequired } from './errors.js';

describe('isReauthRequired', () => {
  it('recognizes our errors by their code, whatever class carries it', () => {
    expect(
      isReauthRequired(new TerminalError('SALESFORCE_REAUTH_REQUIRED', 'Salesforce refused the grant (invalid_grant: expired access/refresh token)')),
    ).toBe(true);
    // The org sessions answer so while a re-authorization is pending: retried, and still a re-authorization.
    expect(isReauthRequired(new TransientError('SALESFORCE_REAUTH_REQUIRED', 'connection c1 needs re-authorization'))).toBe(true);
  });

  it('recognizes a session refresh that jsforce re-threw as a plain Error', () => {
    expect(isReauthRequired(new Error('Unable to refresh session due to: connection c1 needs re-authorization'))).toBe(true);
    expect(isReauthRequired(new Error('Unable to refresh session due to: Salesforce refused the grant (invalid_grant: expired)'))).toBe(true);
  });

  it('does not take other errors for one, even when they quote the words', () => {
    expect(isReauthRequired(new TerminalError('SALESFORCE_AUTH', 'token endpoint refused the request (invalid_client_type)'))).toBe(false);
    expect(isReauthRequired(new ForcehookError('SALESFORCE', 'INVALID_FIELD: a field named needs re-authorization'))).toBe(false);
    expect(isReauthRequired(new Error('ECONNRESET'))).toBe(false);
    expect(isReauthRequired('invalid_grant')).toBe(false);
    expect(isReauthRequired(undefined)).toBe(false);
  });
});
