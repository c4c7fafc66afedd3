import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const DEADLINE_MS = 300;

/** A process that arms the deadline as `forcehook serve` does on SIGTERM, then does `then`. */
function runArmed(then: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; stdout: string }> {
  const script = `
    import { register } from 'tsx/esm/api';
    register();
    const { armShutdownDeadline } = await import(${JSON.stringify(new URL('./shutdown-deadline.ts', import.meta.url).href)});
    const { createLogger } = await import(${JSON.stringify(new URL('../core/log.ts', import.meta.url).href)});
    armShutdownDeadline(createLogger({ level: 'info' }), ${DEADLINE_MS});
    ${then}
  `;
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, ms: Date.now() - t0, stdout });
    }),
  );
}

describe('the shutdown deadline', () => {
  it('ends a stop that hangs with exit code 1 and a line saying why', async () => {
    // Something keeps the loop alive and the stop never finishes.
    const r = await runArmed('setInterval(() => undefined, 1000); await new Promise(() => undefined);');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('stop did not finish within its deadline');
  });

  it('ends a process whose main thread is stuck, where no timer of its own can run', async () => {
    const r = await runArmed('for (;;) {}');
    expect(r.signal).toBe('SIGKILL');
    // The watchdog's grace past the deadline, and the child's start-up.
    expect(r.ms).toBeLessThan(DEADLINE_MS + 2_000 + 5_000);
  });

  it('keeps nothing alive: a process that finishes its stop exits by itself', async () => {
    const r = await runArmed('');
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(DEADLINE_MS + 5_000);
    expect(r.stdout).not.toContain('deadline');
  });
});
