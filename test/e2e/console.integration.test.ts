/**
 * The operator console in a real browser (Debian's Chromium through
 * playwright-core) against a whole stack: the emulator with a demo-like org,
 * the service on the shared broker, webhook receivers. It signs in through a
 * one-time link, sees the org followed by CDC, creates a subscription with the
 * form and sees its first event in the live tail, watches a failing endpoint
 * turn the subscription `failing` with the response shown, pauses and resumes,
 * redelivers the dead letters, and signs in with a read key to find every
 * change button refused. Screenshots of each page (1280 and 390 px wide) go to
 * test-output/screenshots.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { launchBrowser, type TestBrowser } from '../../testkit/browser.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';
import { API_TOKEN, createOrg, orgUser, startTestEmulator, startTestService, waitUntil, type OrgCredentials, type TestService } from '../../testkit/service.js';

let emulator: RunningEmulator;
let org: OrgCredentials;
let svc: TestService;
let browser: TestBrowser;
let connectionId: string;
/** Answers 500 with a body while `failing`, else accepts (verifying the signature). */
let rx: Receiver;
let failing = false;
const errors: string[] = [];
/** The main page's console errors, gathered over every test. */
let pageErrors: string[] = [];

async function newLead(lastName: string): Promise<string> {
  const r = (await orgUser(org).sobject('Lead').create({ LastName: lastName, Company: 'Console' })) as { id: string };
  return r.id;
}

async function shoot(page: Page, name: string): Promise<void> {
  await browser.screenshot(page, `console-${name}`);
}

/** The same page at phone width: laid out without horizontal scrolling of the page itself. */
async function shootNarrow(url: string, name: string, signIn: (p: Page) => Promise<void>): Promise<void> {
  const { page, context, consoleErrors } = await browser.newPage({ width: 390, height: 844 });
  await signIn(page);
  await page.goto(url);
  await page.locator('main h1').first().waitFor();
  // Page scripts are strings here: this file is type-checked for Node, without the DOM's names.
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  expect(overflow, `${name} at 390 px`).toBeLessThanOrEqual(1);
  await shoot(page, `${name}-390`);
  errors.push(...consoleErrors);
  await context.close();
}

beforeAll(async () => {
  emulator = await startTestEmulator();
  // Like the demo's org: refresh tokens rotate on every use.
  org = await createOrg(emulator.url, { rotateRefreshTokens: true });
  svc = await startTestService({ prefix: uniquePrefix('console'), retrySchedule: [200, 400] });
  rx = await startReceiver({ behave: () => (failing ? { status: 500, body: 'boom: the receiver is down for maintenance' } : { status: 204 }) });
  const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  expect(c.status).toBe(201);
  connectionId = c.body.id;
  // The demo starts with a subscription; so does this org.
  const s = await svc.api<{ secret: string }>('POST', '/v1/subscriptions', {
    connectionId,
    trigger: 'record.deleted',
    object: 'Lead',
    destination: { type: 'webhook', url: `${rx.url}/deleted` },
  });
  expect(s.status).toBe(201);
  rx.secrets = [s.body.secret];
  rx.verify = 'any';
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await rx?.close();
  await svc?.stop();
  await emulator?.close();
});

describe('the operator console', () => {
  let page: Page;
  const signInAdmin = async (p: Page) => {
    await p.goto(svc.service.consoleLoginUrl(API_TOKEN));
    await p.getByTestId('who').waitFor();
  };

  it('signs in through a one-time link that holds no key, and the link works once', async () => {
    const link = svc.service.consoleLoginUrl(API_TOKEN);
    expect(link).not.toContain(API_TOKEN);
    const opened = await browser.newPage();
    page = opened.page;
    await page.goto(link);
    await expect.poll(() => page.getByTestId('who').textContent()).toBe('admin');
    // The token is gone from the address bar, and the key is not in it.
    expect(page.url()).not.toContain('login=');
    expect(page.url()).not.toContain(API_TOKEN);
    const again = await browser.newPage();
    await again.page.goto(link);
    await again.page.getByRole('alert').waitFor();
    expect(await again.page.getByRole('alert').textContent()).toContain('used already or has expired');
    await again.context.close();
    pageErrors = opened.consoleErrors;
  });

  it('shows the org connection with Lead followed by CDC', async () => {
    await page.goto(`${svc.service.url}/console#/connections`);
    const card = page.locator(`[data-testid=connection][data-org="${org.orgId}"]`);
    await expect
      .poll(
        () =>
          card
            .locator('[data-object=Lead] [data-testid=mode]')
            .textContent()
            .catch(() => null),
        { timeout: 30_000 },
      )
      .toBe('cdc');
    await expect.poll(() => card.getByTestId('subscriber').textContent(), { timeout: 30_000 }).toBe('running');
    // The org's API usage, as Salesforce reported it to the instance following the org.
    await expect.poll(() => card.getByTestId('api-usage').textContent(), { timeout: 30_000 }).toMatch(/^[\d,]+ of 10,000,000 \(\d+ %\)$/);
    await shoot(page, 'connections');
  });

  it('creates a subscription through the form (validated by the API schema) and sees its first event in the live tail', async () => {
    await page.goto(`${svc.service.url}/console#/subscriptions`);
    const form = page.getByRole('form', { name: 'Create a subscription' });
    // The schema's own rule: record.* triggers need an object.
    await form.locator('select[name=trigger]').selectOption('record.created');
    await form.locator('input[name=url]').fill(`${rx.url}/created`);
    await form.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => form.locator('#issue-object').textContent()).toContain('required for record.created');
    await form.locator('input[name=object]').fill('Lead');
    await form.getByRole('button', { name: 'Create' }).click();
    const secret = await page.getByTestId('secret').textContent();
    expect(secret).toMatch(/^whsec_/);
    rx.secrets.push(secret!);
    await expect.poll(() => page.locator(`[data-testid=subscription][data-destination="${rx.url}/created"]`).count()).toBe(1);
    await shoot(page, 'subscriptions');

    await page.getByRole('link', { name: 'Events' }).click();
    await expect.poll(() => page.getByTestId('tail-status').textContent(), { timeout: 20_000 }).toBe('live');
    const leadId = await newLead('Tail');
    await page
      .locator('[data-testid=event]', { hasText: leadId.slice(0, 15) })
      .first()
      .waitFor({ timeout: 30_000 });
    await page
      .locator('[data-testid=event]', { hasText: leadId.slice(0, 15) })
      .first()
      .getByRole('button')
      .click();
    const detail = page.getByTestId('event-detail');
    await expect.poll(() => detail.locator('pre').textContent()).toContain('"specversion": "1.0"');
    // The event's attempts, per subscription.
    await expect
      .poll(
        () =>
          detail
            .locator('table .badge')
            .first()
            .textContent()
            .catch(() => null),
        { timeout: 20_000 },
      )
      .toBe('delivered');
    await shoot(page, 'events');
    await waitUntil(() => rx.received.some((r) => (r.event.data as { recordId?: string }).recordId === leadId), 20_000, 'the webhook');
  });

  it('a failing endpoint turns the subscription failing with the response shown; pause, resume and redeliver from the DLQ', async () => {
    failing = true;
    const failedLead = await newLead('Failing');
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    const row = page.locator(`[data-testid=subscription][data-destination="${rx.url}/created"]`);
    await expect.poll(() => row.getByTestId('state').textContent(), { timeout: 30_000 }).toBe('failing');
    expect(await row.getByTestId('last-error').textContent()).toContain('HTTP 500: boom: the receiver is down');
    // Three attempts (schedule 200 ms, 400 ms), then the dead letter.
    await expect.poll(() => row.getByTestId('dlq').textContent(), { timeout: 30_000 }).toBe('1');
    await shoot(page, 'subscriptions-failing');

    await row.getByRole('link', { name: 'Deliveries' }).click();
    const failed = page.locator('[data-testid=attempt][data-status=failed]').first();
    await failed.waitFor({ timeout: 20_000 });
    expect(await failed.getByTestId('response-status').textContent()).toBe('500');
    await failed.getByRole('button', { name: 'show' }).click();
    expect(await failed.getByTestId('response').textContent()).toContain('boom: the receiver is down for maintenance');
    await page.locator('[data-testid=attempt][data-status=dead]').first().waitFor();
    await shoot(page, 'deliveries');
    expect(await page.getByTestId('latency').textContent()).toMatch(/median \d+ ms/);
    // A range redelivery is checked by the API's schema before it is sent: the end must follow the start.
    const range = page.getByRole('form', { name: 'Redeliver a time range' });
    await range.locator('input[name=from]').fill('2030-01-02T10:00:00');
    await range.locator('input[name=to]').fill('2030-01-01T10:00:00');
    await range.getByRole('button', { name: 'Redeliver range' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('to: must be after from');

    // Paused: a new Lead's event waits; resumed, it arrives.
    failing = false;
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await row.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => row.getByTestId('state').textContent()).toBe('paused');
    const whilePaused = await newLead('Paused');
    const arrived = (id: string) => rx.received.some((r) => (r.event.data as { recordId?: string }).recordId === id && r.event.type.endsWith('created'));
    // The event has reached Kafka (the live tail shows it) while nothing was delivered.
    await waitUntil(
      async () => (await svc.api<{ data: unknown[] }>('GET', `/v1/events?connectionId=${connectionId}&recordId=${whilePaused}`)).body.data.length > 0,
      30_000,
      'the event on Kafka',
    );
    expect(arrived(whilePaused)).toBe(false);
    await shoot(page, 'subscriptions-paused');
    await row.getByRole('button', { name: 'Resume' }).click();
    await waitUntil(() => arrived(whilePaused), 30_000, 'the event kept while paused');

    // The dead letter goes out again, to the endpoint that now answers.
    expect(arrived(failedLead)).toBe(false);
    await row.getByRole('button', { name: 'Redeliver DLQ' }).click();
    // The DLQ is read back from Kafka first: seconds on a real broker.
    await expect.poll(() => page.getByTestId('note').textContent(), { timeout: 30_000 }).toBe('Redelivering 1 dead letter(s)');
    await waitUntil(() => arrived(failedLead), 30_000, 'the redelivered dead letter');
    expect(rx.invalid).toEqual([]);
  });

  it('the cluster page shows this instance with the org it follows, the delivery lag and the org replay position', async () => {
    await page.goto(`${svc.service.url}/console#/cluster`);
    await expect.poll(() => page.getByTestId('instance').first().textContent(), { timeout: 20_000 }).toContain(org.orgId);
    await page.getByTestId('lag').first().waitFor();
    await expect.poll(() => page.getByTestId('replay').first().textContent(), { timeout: 20_000 }).toContain('replay id');
    expect(await page.getByTestId('replay').first().textContent()).toContain(org.orgId);
    await shoot(page, 'cluster');
  });

  it('connects another org through the OAuth flow started from the console', async () => {
    const second = await createOrg(emulator.url);
    // A page of its own: the emulator's approval page is not the console's (its missing favicon is not our error).
    const { page, context } = await browser.newPage();
    await signInAdmin(page);
    await page.goto(`${svc.service.url}/console#/connections`);
    await page.getByRole('button', { name: 'Connect an org' }).click();
    const form = page.getByRole('form', { name: 'Connect an org' });
    await form.locator('input[name=loginUrl]').fill(second.loginUrl);
    await form.locator('input[name=clientId]').fill(second.clientId);
    await form.locator('input[name=clientSecret]').fill(second.clientSecret);
    await form.getByRole('button', { name: 'Continue at Salesforce' }).click();
    // The org's own approval page (the emulator's), then back to the console.
    await page.getByRole('heading', { name: 'Allow Access?' }).waitFor();
    await page.locator('input[name=password]').fill(second.password);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/\/console/);
    await page.locator(`[data-testid=connection][data-org="${second.orgId}"]`).waitFor({ timeout: 20_000 });
    await context.close();
  });

  it('a read key sees everything and finds every change button refused', async () => {
    const k = await svc.api<{ key: string }>('POST', '/v1/api-keys', { name: 'console-reader', scopes: ['read'] });
    expect(k.status).toBe(201);
    const signInReader = async (p: Page) => {
      await p.goto(`${svc.service.url}/console`);
      await p.getByLabel('API key').fill(k.body.key);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByTestId('who').waitFor();
    };
    const subs = await svc.api<{ data: { id: string; destination: { url?: string } }[] }>('GET', '/v1/subscriptions');
    const created = subs.body.data.find((x) => x.destination.url === `${rx.url}/created`)!.id;
    const { page: reader, context, consoleErrors } = await browser.newPage();
    await signInReader(reader);
    expect(await reader.getByTestId('who').textContent()).toBe('read-only key');
    expect(reader.url()).not.toContain(k.body.key);
    for (const [hash, rows] of [
      ['#/subscriptions', '[data-testid=subscription]'],
      ['#/connections', '[data-testid=connection]'],
      [`#/deliveries/${created}`, '[data-testid=attempt]'],
    ] as const) {
      await reader.goto(`${svc.service.url}/console${hash}`);
      await reader.locator(rows).first().waitFor({ timeout: 20_000 });
      const buttons = reader.locator('button[data-change]');
      expect(await buttons.count(), hash).toBeGreaterThan(0);
      for (const b of await buttons.all()) {
        expect(await b.isDisabled(), `${hash} ${await b.textContent()}`).toBe(true);
        expect(await b.getAttribute('title')).toBe('your key has the read scope only');
      }
    }
    await shoot(reader, 'read-key');
    errors.push(...consoleErrors);
    // The API refuses too, whatever a page would send (the browser logs that 403: not gathered).
    const refused = await reader.evaluate<number>(`(async () => {
      const key = sessionStorage.getItem('forcehook.console.key');
      const subs = await (await fetch('/v1/subscriptions', { headers: { authorization: 'Bearer ' + key } })).json();
      return (await fetch('/v1/subscriptions/' + subs.data[0].id + '/pause', { method: 'POST', headers: { authorization: 'Bearer ' + key } })).status;
    })()`);
    expect(refused).toBe(403);
    await context.close();
  });

  it('every page at 390 px, keyboard-reachable, and no console errors anywhere', async () => {
    for (const p of ['connections', 'subscriptions', 'events', 'deliveries', 'cluster']) await shootNarrow(`${svc.service.url}/console#/${p}`, p, signInAdmin);
    // Keyboard: tabbing from the top reaches the page links and the form controls.
    await page.goto(`${svc.service.url}/console#/subscriptions`);
    await page.locator('main h1').waitFor();
    const reached = new Set<string>();
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate<string>("(document.activeElement?.getAttribute('name') ?? document.activeElement?.textContent ?? '').trim()"));
    }
    for (const want of ['Events', 'Deliveries', 'Pause', 'trigger', 'object', 'url']) expect([...reached], want).toContain(want);
    expect([...errors, ...pageErrors]).toEqual([]);
  });
});
