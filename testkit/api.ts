/** A client of the service's `/v1` API, as an API user calls it: a bearer token and JSON. */

/** The API token every test-started instance is given. */
export const API_TOKEN = 'test-api-token-0123456789';

export interface ApiAnswer<T> {
  status: number;
  /** The parsed JSON body; undefined when the body is empty or not JSON (see `text`). */
  body: T;
  text: string;
}

export type Api = <T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiAnswer<T>>;

/**
 * The `/v1` API at `url` (an in-process instance or a spawned `forcehook serve`; a function when the
 * address changes across restarts). A string body is sent as it is, anything else as JSON.
 */
export function httpApi(url: string | (() => string), token = API_TOKEN): Api {
  const base = typeof url === 'string' ? () => url : url;
  return async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, text };
  };
}
