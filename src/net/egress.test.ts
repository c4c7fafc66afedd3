import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { assertAllowedUrl, createEgressAgent, isPublicAddress } from './egress.js';

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.3.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    'fd00::1',
    'fe80::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    'not-an-ip',
  ])('refuses %s', (ip) => expect(isPublicAddress(ip)).toBe(false));
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111'])('allows %s', (ip) => expect(isPublicAddress(ip)).toBe(true));
});

describe('assertAllowedUrl', () => {
  const deny = { allowPrivate: false, field: 'url' };
  it.each(['https://127.0.0.1/x', 'https://10.0.0.1/', 'http://169.254.169.254/latest/meta-data', 'https://[::1]:8443/', 'https://localhost/hook'])(
    'refuses %s',
    async (u) => {
      await expect(assertAllowedUrl(u, deny)).rejects.toMatchObject({ code: 'FORBIDDEN_DESTINATION', status: 400 });
    },
  );
  it('refuses credentials and other schemes', async () => {
    await expect(assertAllowedUrl('https://u:p@8.8.8.8/', deny)).rejects.toThrow(/credentials/);
    await expect(assertAllowedUrl('ftp://8.8.8.8/', deny)).rejects.toThrow(/https/);
  });
  it('allows private addresses when configured', async () => {
    await expect(assertAllowedUrl('http://127.0.0.1:9/x', { allowPrivate: true, field: 'url' })).resolves.toBeInstanceOf(URL);
  });
  it('allows a public IP literal', async () => {
    await expect(assertAllowedUrl('https://8.8.8.8/hook', deny)).resolves.toBeInstanceOf(URL);
  });
});

describe('createEgressAgent', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('reached'));
    server.listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('blocks a loopback literal and a name resolving to loopback at connect time', async () => {
    const agent = createEgressAgent({ allowPrivate: false });
    await expect(request(`http://127.0.0.1:${port}/`, { dispatcher: agent })).rejects.toMatchObject({ code: 'FORBIDDEN_DESTINATION' });
    await expect(request(`http://localhost:${port}/`, { dispatcher: agent })).rejects.toThrow(/private or reserved/);
    await agent.close();
  });

  it('connects when private networks are allowed', async () => {
    const agent = createEgressAgent({ allowPrivate: true });
    const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
    expect(await res.body.text()).toBe('reached');
    await agent.close();
  });
});
