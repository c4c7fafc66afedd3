import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { setMaxListeners } from 'node:events';
import { createLogger, logProcessWarnings } from './log.js';

describe('logger redaction', () => {
  it('never writes tokens, secrets or Authorization headers', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    log.info(
      {
        req: { headers: { authorization: 'Bearer TOPSECRET1' } },
        connection: { refreshToken: 'TOPSECRET2', clientSecret: 'TOPSECRET3', accessToken: 'TOPSECRET4' },
        secret: 'whsec_TOPSECRET5',
        password: 'TOPSECRET6',
      },
      'hello',
    );
    const out = lines.join('');
    expect(out).toContain('hello');
    expect(out).not.toMatch(/TOPSECRET/);
    expect(out).toContain('[redacted]');
  });
});

describe('logged errors', () => {
  it('redact secrets at any depth of an error (details, cause, client config), keep the rest', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink }).child({ component: 'x' });
    const cause = Object.assign(new Error('token endpoint refused'), {
      body: { access_token: 'TOPSECRET1', refresh_token: 'TOPSECRET2', error: 'invalid_grant' },
    });
    const details = { connection: { credentials: { refreshToken: 'TOPSECRET3', clientSecret: 'TOPSECRET4' } }, field: 'loginUrl' };
    const err = Object.assign(new Error('refresh failed', { cause }), {
      details,
      config: { headers: { Authorization: 'Bearer TOPSECRET5', 'content-type': 'application/json' } },
      token: 'TOPSECRET6',
    });
    log.error({ err }, 'boom');
    log.warn({ error: { nested: [{ password: 'TOPSECRET7' }] } }, 'also');
    const out = lines.join('');
    expect(out).not.toMatch(/TOPSECRET/);
    const first = JSON.parse(lines[0]!) as { err: { message: string; details: { field: string }; config: { headers: Record<string, string> } } };
    expect(first.err.message).toContain('refresh failed');
    expect(first.err.details.field).toBe('loginUrl');
    expect(first.err.config.headers['content-type']).toBe('application/json');
    // The error itself is not changed by logging it.
    expect(details.connection.credentials.refreshToken).toBe('TOPSECRET3');
  });
});

describe('process warnings', () => {
  it('are logged with the stack of the call that caused them', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const stop = logProcessWarnings(createLogger({ level: 'info', destination: sink }));
    const signal = new AbortController().signal;
    setMaxListeners(2, signal);
    try {
      for (let i = 0; i < 3; i++) addLeakyListener(signal);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      stop();
    }
    const line = JSON.parse(lines.find((l) => l.includes('process warning'))!) as { warning: { name: string; stack: string } };
    expect(line.warning.name).toBe('MaxListenersExceededWarning');
    expect(line.warning.stack).toContain('addLeakyListener');
  });
});

function addLeakyListener(signal: AbortSignal): void {
  signal.addEventListener('abort', () => undefined);
}
