/** `forcehook emulator` as an operator runs it: a child process (so not in the unit tier). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { connect, newOrg } from '../../testkit/emulator/support.js';

describe('forcehook emulator', () => {
  it('prints exactly one ready line and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'emulator', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const ready = JSON.parse(first);
    expect(ready).toEqual({
      event: 'ready',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      // The Pub/Sub API: its gRPC address and the PEM of the CA its TLS certificate is signed by.
      pubsub: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      pubsubCaFile: expect.any(String),
    });
    expect(readFileSync(ready.pubsubCaFile, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const org = await newOrg(ready.url);
    const conn = connect(org);
    expect((await conn.query('SELECT Id FROM User')).totalSize).toBe(1);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
