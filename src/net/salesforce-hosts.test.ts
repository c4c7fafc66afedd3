import { describe, expect, it } from 'vitest';
import { parseHostPatterns, SalesforceHosts } from './salesforce-hosts.js';

describe('SalesforceHosts', () => {
  const none = new SalesforceHosts();
  it.each([
    'https://login.salesforce.com',
    'https://test.salesforce.com',
    'https://acme.my.salesforce.com',
    'https://acme--dev.sandbox.my.salesforce.com',
    'https://na1.salesforce.com',
    'https://acme.lightning.force.com',
    'https://acme.my.salesforce.mil',
    'https://acme.my.sfcrmproducts.cn',
  ])("allows Salesforce's own %s over https", (u) => expect(none.allows(new URL(u))).toBe(true));
  it.each([
    'http://login.salesforce.com',
    'https://salesforce.com.evil.example',
    'https://evilsalesforce.com',
    'https://127.0.0.1',
    'http://169.254.169.254/latest/meta-data',
    'https://u:p@login.salesforce.com',
  ])('refuses %s', (u) => expect(none.allows(new URL(u))).toBe(false));
  it('allows what the operator lists, over http too', () => {
    const h = new SalesforceHosts(['127.0.0.1', '*.example.com']);
    expect(h.allows(new URL('http://127.0.0.1:4000'))).toBe(true);
    expect(h.allows(new URL('http://sf.example.com'))).toBe(true);
    expect(h.allows(new URL('http://example.com'))).toBe(false);
    expect(h.allows(new URL('http://localhost:4000'))).toBe(false);
    expect(new SalesforceHosts(['*']).allows(new URL('http://anything.test'))).toBe(true);
    expect(() => h.check('http://10.0.0.1/', 'loginUrl')).toThrow(/loginUrl: 'http:\/\/10.0.0.1' is not a Salesforce host/);
  });
  it('an identity URL belongs with its login: both Salesforce, or the same origin', () => {
    const h = new SalesforceHosts(['127.0.0.1']);
    const same = (a: string, b: string) => h.sameFamily(new URL(a), new URL(b));
    expect(same('https://acme.my.salesforce.com', 'https://login.salesforce.com/id/00D/005')).toBe(true);
    expect(same('http://127.0.0.1:4000', 'http://127.0.0.1:4000/id/00D/005')).toBe(true);
    expect(same('http://127.0.0.1:4000', 'http://127.0.0.1:4001/id/00D/005')).toBe(false);
    expect(same('http://127.0.0.1:4000', 'https://login.salesforce.com/id/00D/005')).toBe(false);
  });
  it('parses FORCEHOOK_SALESFORCE_HOSTS and names a bad entry', () => {
    expect(parseHostPatterns(' *.Example.com, 127.0.0.1 ,[::1],*')).toEqual({ patterns: ['*.example.com', '127.0.0.1', '::1', '*'] });
    expect(parseHostPatterns('ok.example.com,http://x')).toEqual({ bad: 'http://x' });
  });
});
