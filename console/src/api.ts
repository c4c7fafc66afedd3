/**
 * The console's only way to the service: the /v1 API with the signed-in key
 * as a bearer token. The key lives in this tab's session storage (gone when
 * the tab closes) and is never put into a URL.
 */
const KEY = 'forcehook.console.key';

export function storedKey(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeKey(key: string | undefined): void {
  if (key === undefined) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'HTTP', err?.message ?? `HTTP ${res.status}`, err?.details);
  }
  return json as T;
}

/**
 * Server-Sent Events through fetch (EventSource cannot send an Authorization
 * header). Calls `onEvent` per `data:` line until `signal` aborts; `onReady`
 * once the server says the tail reads.
 */
export async function stream(path: string, onEvent: (data: unknown) => void, opts: { signal: AbortSignal; onReady?: () => void }): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${storedKey() ?? ''}`, accept: 'text/event-stream' }, signal: opts.signal });
  if (!res.ok || !res.body) throw new ApiError(res.status, 'HTTP', `the live tail answered ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split('\n')) {
        if (line.startsWith(': ready')) opts.onReady?.();
        else if (line.startsWith('data: ')) onEvent(JSON.parse(line.slice(6)));
      }
    }
  }
}

// What the API answers, as far as the console reads it.
export interface Me {
  kind: 'admin' | 'key';
  scopes: ('read' | 'write')[];
}
export interface Connection {
  id: string;
  orgId: string;
  instanceUrl: string;
  status: string;
  statusReason?: string;
  subscriber: string;
  objects: { object: string; mode: 'cdc' | 'polling'; lastEventAt: string | null }[];
  warnings: { code: string; message: string; since: string }[];
  apiUsage?: { used: number; limit: number };
  tokenRefreshedAt: string | null;
}
export interface Delivery {
  state: 'active' | 'failing' | 'paused' | 'disabled';
  attempts: number;
  delivered: number;
  failures: number;
  consecutiveFailures: number;
  lastError?: string;
  lastAttemptAt?: string;
  lastSuccessAt?: string;
  dlqCount: number;
}
export interface Subscription {
  id: string;
  connectionId: string;
  trigger: string;
  object?: string;
  campaignId?: string;
  fields?: string[];
  destination: { type: 'webhook'; url: string } | { type: 'workflow'; workflow: string };
  pausedAt?: string;
  createdAt: string;
  delivery: Delivery;
}
export interface CloudEvent {
  id: string;
  type: string;
  source: string;
  subject?: string;
  time?: string;
  data?: { connectionId?: string; orgId?: string; object?: string; recordId?: string; [k: string]: unknown };
  [k: string]: unknown;
}
export interface Attempt {
  eventId: string;
  attempt: number;
  at: string;
  status: 'delivered' | 'failed' | 'dead';
  durationMs: number;
  responseStatus?: number;
  error?: string;
}
