import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { createHttpApp } from '../http/app.js';
import { createMetrics } from '../observability/metrics.js';
import { escapeHtml, html } from './html.js';
import { connectPageRouter } from './router.js';

const lines: string[] = [];
const logger = createLogger({
  level: 'trace',
  destination: new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  }),
});
let server: Server;
let url: string;

beforeAll(async () => {
  const broken = {
    connectSession: () => {
      throw new Error('state unreadable');
    },
  };
  const app = createHttpApp({
    apiToken: 'x'.repeat(20),
    bodyLimit: '1kb',
    logger,
    metrics: createMetrics(),
    ready: async () => true,
    public: [
      connectPageRouter({
        box: {} as never,
        store: broken as never,
        egress: {} as never,
        allowPrivateNetworks: false,
        logger,
        brand: { name: 'Acme', color: '#123456' },
        loginUrls: { production: 'https://login.salesforce.com', sandbox: 'https://test.salesforce.com' },
        publicUrl: () => url,
      }),
    ],
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('connect page', () => {
  it('keeps the link token out of the logs when a request fails, and answers a page, not internals', async () => {
    const res = await fetch(`${url}/connect/s1?token=SECRET-LINK-TOKEN`);
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(await res.text()).not.toContain('state unreadable');
    const out = lines.join('');
    expect(out).toContain('connect page failed');
    expect(out).toContain('/connect/s1');
    expect(out).not.toContain('SECRET-LINK-TOKEN');
  });

  it('escapes every interpolated value, nested templates excepted', () => {
    const evil = `"><script>alert(1)</script>'`;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(`<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
    expect(escapeHtml(evil)).not.toMatch(/[<>"']/);
    expect(html`<div>${html`<b>${'<i>'}</b>`}</div>`.value).toBe('<div><b>&lt;i&gt;</b></div>');
  });
});
