/**
 * The hosted connect page, driven in Chromium at a phone's width against two emulated login hosts
 * (production and sandbox): choosing where the org logs in, the end user's own OAuth app, Salesforce's
 * refusal of an app that is not installed and what the page tells the admin, and every form's bad input
 * answered on the page.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { launchBrowser, type TestBrowser } from '../../testkit/browser.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startReceiver } from '../../testkit/receiver.js';
import { createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type OrgCredentials, type TestService } from '../../testkit/service.js';

const PACKAGE_URL = 'https://install.example.com/packaging/installPackage.apexp?p0=04t000000000001';
const RETURN_URL = 'https://app.example.com/salesforce/connected';

let production: RunningEmulator;
let sandbox: RunningEmulator;
let svc: TestService;
let browser: TestBrowser;
beforeAll(async () => {
  production = await startTestEmulator();
  sandbox = await startTestEmulator();
  svc = await startTestService({
    prefix: uniquePrefix('connect-page'),
    env: {
      FORCEHOOK_PRODUCTION_LOGIN_URL: production.url,
      FORCEHOOK_SANDBOX_LOGIN_URL: sandbox.url,
      FORCEHOOK_PACKAGE_INSTALL_URL: PACKAGE_URL,
      FORCEHOOK_BRAND_NAME: 'Acme <CRM>',
      FORCEHOOK_BRAND_COLOR: '#6a1b9a',
    },
  });
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await svc?.stop();
  await production?.close();
  await sandbox?.close();
});

async function newSession(body: Record<string, unknown>): Promise<{ id: string; connectUrl: string }> {
  const s = await svc.api<{ id: string; connectUrl: string }>('POST', '/v1/connect-sessions', { returnUrl: RETURN_URL, ...body });
  expect(s.status).toBe(201);
  return s.body;
}

/** Opens the link at 390 px; the page must fit, carry no token in its address, and log no errors. */
async function open(connectUrl: string): Promise<{ page: Page; consoleErrors: string[] }> {
  const { page, consoleErrors } = await browser.newPage({ width: 390, height: 844 });
  const res = await page.goto(connectUrl);
  expect(res?.status()).toBe(200);
  expect(page.url()).not.toContain('token=');
  expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  return { page, consoleErrors };
}

/** On Salesforce's (the emulator's) approval page: log in and allow. */
async function allowAtSalesforce(page: Page, org: OrgCredentials): Promise<void> {
  await page.getByLabel('Username').fill(org.username);
  await page.getByLabel('Password').fill(org.password);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/connect\/[^/]+\/done$/);
}

describe('the hosted connect page', () => {
  it('connects a production org and sends the user back to the app', async () => {
    const org = await createOrg(production.url);
    const s = await newSession({ oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret } });
    const { page, consoleErrors } = await open(s.connectUrl);
    // Branding from configuration, escaped; the page keeps to itself.
    await expect(page.locator('header .name').textContent()).resolves.toBe('Acme <CRM>');
    const head = await page.request.get(page.url());
    expect(head.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    // The package step is offered with the operator's install URL.
    expect(await page.getByRole('link', { name: 'Install the package' }).getAttribute('href')).toBe(PACKAGE_URL);
    await browser.screenshot(page, 'connect-page-start');
    await page.getByRole('radio', { name: /^Production/ }).check();
    await page.getByRole('button', { name: 'Continue to Salesforce' }).click();
    expect(new URL(page.url()).origin).toBe(production.url);
    await allowAtSalesforce(page, org);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Connected');
    await browser.screenshot(page, 'connect-page-connected');
    const next = new URL((await page.getByRole('link', { name: /^Continue to / }).getAttribute('href'))!);
    expect(next.origin + next.pathname).toBe(RETURN_URL);
    expect(next.searchParams.get('orgId')).toBe(org.orgId);
    expect(next.searchParams.get('connectSessionId')).toBe(s.id);
    const view = await svc.api<{ status: string; connectionId: string }>('GET', `/v1/connect-sessions/${s.id}`);
    expect(view.body.status).toBe('completed');
    expect(view.body.connectionId).toBe(next.searchParams.get('connectionId'));
    expect(consoleErrors.join('\n')).toBe('');
  });

  it('connects a sandbox org through the sandbox login host', async () => {
    const org = await createOrg(sandbox.url);
    const s = await newSession({ environment: 'sandbox', oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret } });
    const { page } = await open(s.connectUrl);
    // The session asked for a sandbox: preselected.
    expect(await page.getByRole('radio', { name: /^Sandbox/ }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Continue to Salesforce' }).click();
    expect(new URL(page.url()).origin).toBe(sandbox.url);
    await allowAtSalesforce(page, org);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Connected');
    const view = await svc.api<{ status: string; orgId: string }>('GET', `/v1/connect-sessions/${s.id}`);
    expect(view.body).toMatchObject({ status: 'completed', orgId: org.orgId });
  });

  it("takes the end user's own OAuth app and a My Domain URL, answering every bad input on the page", async () => {
    const org = await createOrg(production.url);
    // No default app and none in the session: the end user brings theirs.
    const s = await newSession({ allowUserOAuth: true });
    const { page } = await open(s.connectUrl);
    const submit = () => page.getByRole('button', { name: 'Continue to Salesforce' }).click();
    const errorOf = (field: string) => page.locator(`#${field}-error`).textContent();

    await page.getByRole('radio', { name: /^My Domain/ }).check();
    await page.getByLabel('My Domain URL').fill('not a url');
    await submit();
    await expect(errorOf('loginUrl')).resolves.toBe('Invalid URL');
    expect(await page.getByLabel('My Domain URL').getAttribute('aria-invalid')).toBe('true');
    await expect(page.getByRole('alert').first().textContent()).resolves.toContain('My Domain URL: Invalid URL');
    await browser.screenshot(page, 'connect-page-bad-input');

    await page.getByLabel('My Domain URL').fill('');
    await submit();
    await expect(errorOf('loginUrl')).resolves.toBe('required for My Domain');
    await expect(errorOf('clientId')).resolves.toBe('required: enter your OAuth app');

    await page.getByLabel('My Domain URL').fill('https://attacker.example.com');
    await page.getByLabel('Consumer key').fill(org.clientId);
    await submit();
    await expect(errorOf('clientSecret')).resolves.toBe('required with the other half of the OAuth app');
    await expect(errorOf('loginUrl')).resolves.toMatch(/^loginUrl: /);
    // What was typed stays (never the secret).
    expect(await page.getByLabel('Consumer key').inputValue()).toBe(org.clientId);

    await page.getByLabel('My Domain URL').fill(org.loginUrl);
    await page.getByLabel('Consumer key').fill(org.clientId);
    await page.getByLabel('Consumer secret').fill(org.clientSecret);
    await submit();
    expect(new URL(page.url()).origin).toBe(production.url);
    expect(new URL(page.url()).searchParams.get('client_id')).toBe(org.clientId);
    await allowAtSalesforce(page, org);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Connected');
  });

  it("shows the admin's way out when Salesforce refuses an app that is not installed", async () => {
    const org = await createOrg(production.url, { appInstalled: false, permissions: { approveUninstalledApps: false } });
    const s = await newSession({ oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret }, packageInstallUrl: `${PACKAGE_URL}-session` });
    const { page } = await open(s.connectUrl);
    await page.getByRole('radio', { name: /^Production/ }).check();
    await page.getByRole('button', { name: 'Continue to Salesforce' }).click();
    await allowAtSalesforce(page, org);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Not connected');
    const alert = (await page.getByRole('alert').textContent())!;
    expect(alert).toContain('Approve Uninstalled Connected Apps');
    expect(alert).toContain('Permission Sets');
    // The session's own package URL wins over the operator's.
    expect(await page.getByRole('alert').getByRole('link', { name: 'Install the package' }).getAttribute('href')).toBe(`${PACKAGE_URL}-session`);
    await browser.screenshot(page, 'connect-page-app-not-installed');
    const back = new URL((await page.getByRole('link', { name: /^Back to / }).getAttribute('href'))!);
    expect(back.searchParams.get('error')).toBe('app_not_installed');
    const view = await svc.api<{ status: string; error: string }>('GET', `/v1/connect-sessions/${s.id}`);
    expect(view.body).toMatchObject({ status: 'failed', error: 'app_not_installed' });
  });

  it('opens a link once, refuses a forged one, and needs no API key', async () => {
    const org = await createOrg(production.url);
    const s = await newSession({ oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret } });
    const first = await open(s.connectUrl);
    // The same browser may reload; another one holding the copied link may not.
    expect((await first.page.reload())?.status()).toBe(200);
    const { page: other } = await browser.newPage({ width: 390 });
    expect((await other.goto(s.connectUrl))?.status()).toBe(403);
    await expect(other.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('This link was used already');
    const forged = new URL(s.connectUrl);
    forged.searchParams.set('token', `${forged.searchParams.get('token')!.slice(0, -4)}AAAA`);
    expect((await other.goto(forged.toString()))?.status()).toBe(403);
    expect((await other.goto(`${svc.service.url}/connect/${s.id}`))?.status()).toBe(403);
    // A form post without the page's cookie changes nothing.
    const post = await fetch(`${svc.service.url}/connect/${s.id}`, {
      method: 'POST',
      body: new URLSearchParams({ environment: 'production' }),
      redirect: 'manual',
    });
    expect(post.status).toBe(403);
  });

  it('lets the end user choose a mapping from their org (custom object and fields), and the first mapped event reaches the webhook', async () => {
    const org = await createOrg(production.url, {
      customObjects: [
        {
          name: 'Invoice__c',
          label: 'Invoice',
          fields: [
            { name: 'Amount__c', type: 'currency', label: 'Amount' },
            { name: 'Customer_Email__c', type: 'email', label: 'Customer email' },
          ],
        },
      ],
    });
    const s = await newSession({
      oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
      mappings: [{ name: 'invoice', labels: ['amount', 'email'] }],
    });
    const { page, consoleErrors } = await open(s.connectUrl);
    await page.getByRole('radio', { name: /^Production/ }).check();
    await page.getByRole('button', { name: 'Continue to Salesforce' }).click();
    await allowAtSalesforce(page, org);
    await page.getByRole('link', { name: 'Choose fields' }).click();
    // No object chosen: answered on the page.
    await page.getByRole('button', { name: 'Use this object' }).click();
    await expect(page.locator('#object-error').textContent()).resolves.toBe('choose an object');
    await page.getByLabel(/Which object holds your invoice/).selectOption('Invoice__c');
    await page.getByRole('button', { name: 'Use this object' }).click();
    // No field chosen: answered on the page, per label.
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#field_amount-error').textContent()).resolves.toBe('required: choose one');
    await expect(page.locator('#field_email-error').textContent()).resolves.toBe('required: choose one');
    await expect(page.getByLabel('amount').locator('option', { hasText: 'Amount (Amount__c) · custom' }).count()).resolves.toBe(1);
    await page.getByLabel('amount').selectOption('Amount__c');
    await page.getByLabel('email').selectOption('Customer_Email__c');
    await browser.screenshot(page, 'connect-page-mapping');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/done$/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Connected');
    expect(await page.getByRole('link', { name: /^Continue to / }).count()).toBe(1);
    // Chromium reports each refused form's 400 answer itself; nothing else may appear.
    expect(consoleErrors.filter((e) => !e.includes('status of 400')).join('\n')).toBe('');

    const connectionId = (await svc.api<{ connectionId: string }>('GET', `/v1/connect-sessions/${s.id}`)).body.connectionId;
    const mapping = await svc.api<{ object: string; fields: Record<string, string> }>('GET', `/v1/connections/${connectionId}/mappings/invoice`);
    expect(mapping.body).toMatchObject({ object: 'Invoice__c', fields: { amount: 'Amount__c', email: 'Customer_Email__c' } });
    const receiver = await startReceiver();
    try {
      const sub = await svc.api<{ secret: string }>('POST', '/v1/subscriptions', {
        connectionId,
        trigger: 'record.created',
        mapping: 'invoice',
        destination: { type: 'webhook', url: receiver.url },
      });
      expect(sub.status).toBe(201);
      receiver.secrets = [sub.body.secret];
      await orgUser(org).sobject('Invoice__c').create({ Name: 'INV-9', Amount__c: 1200, Customer_Email__c: 'ada@example.com' });
      await waitUntil(() => receiver.received.length > 0, 30_000, 'the first mapped event at the webhook');
      expect(receiver.received[0]!.event.data?.mapped).toEqual({ amount: 1200, email: 'ada@example.com' });
      expect(receiver.invalid).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
