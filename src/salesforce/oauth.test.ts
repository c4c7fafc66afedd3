import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSalesforceEgress } from '../net/salesforce-egress.js';
import { refreshAccessToken } from './oauth.js';
import { fromSalesforceError } from './rest.js';

const LONG = `${'metadata '.repeat(1_000)}\u0000\u001b[31mAKIA-SECRET-AT-THE-END`;
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.statusCode = 400;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ error: 'invalid_request', error_description: LONG }));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('what a Salesforce host answered reaches callers only as a short printable snippet', () => {
  it('the token endpoint', async () => {
    const egress = createSalesforceEgress({ hosts: ['127.0.0.1'], allowPrivate: true });
    const err = (await refreshAccessToken({ loginUrl: url, clientId: 'a', clientSecret: 'b' }, 'rt', egress).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^token endpoint refused the request \(invalid_request: metadata/);
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).not.toMatch(/SECRET|\p{Cc}/u);
    await egress.dispatcher.close();
  });

  it('REST errors (jsforce puts a non-JSON body whole into the message)', () => {
    const err = fromSalesforceError({ errorCode: 'ERROR_HTTP_500', message: LONG });
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).not.toMatch(/SECRET/);
  });
});
