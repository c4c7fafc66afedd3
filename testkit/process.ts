import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const BIN = fileURLToPath(new URL('../bin/forcehook.js', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  ready: Record<string, unknown>;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `forcehook <args>` as its own process (as an operator would) and
 * resolves with its ready line. Used where a test must kill -9 the service.
 */
export async function spawnForcehook(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Spawned> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms; stderr: ${stderr.slice(-20).join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        if (j.event === 'ready') {
          clearTimeout(timer);
          resolve(j);
        }
      } catch {
        // not JSON: ignore
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ready; stderr: ${stderr.slice(-20).join('\n')}`));
    });
  });
  return {
    child,
    ready,
    lines,
    stderr,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
