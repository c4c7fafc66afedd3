import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from './log.js';

describe('logger redaction', () => {
  it('never writes tokens, secrets or Authorization headers', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const log = createLogger({ level: 'info', destination: sink });
    log.info({
      req: { headers: { authorization: 'Bearer TOPSECRET1' } },
      connection: { refreshToken: 'TOPSECRET2', clientSecret: 'TOPSECRET3', accessToken: 'TOPSECRET4' },
      secret: 'whsec_TOPSECRET5',
      password: 'TOPSECRET6',
    }, 'hello');
    const out = lines.join('');
    expect(out).toContain('hello');
    expect(out).not.toMatch(/TOPSECRET/);
    expect(out).toContain('[redacted]');
  });
});
