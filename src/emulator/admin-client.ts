/**
 * A client of the emulator's admin surface (src/emulator/README.md), shared by tests,
 * benchmarks, the chaos suite and the demo. It lives beside the emulator and,
 * like it, is never imported by the pipeline.
 */
export type { OrgCredentials } from './emulator.js';

/** One admin call; a non-2xx answer throws with its status and body. */
export async function emulatorAdmin<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
