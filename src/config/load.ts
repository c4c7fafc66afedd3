import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { ConfigSchema, ENV, type Config } from './schema.js';

type Json = Record<string, unknown>;

export interface LoadOptions {
  /** Folder holding default.json (and optionally local.json). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied last: tests and embedders set values directly. */
  overrides?: Json;
}

function readJson(path: string): Json {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (err) {
    throw new ConfigError(path, `not valid JSON (${(err as Error).message})`);
  }
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (typeof next === 'object' && next !== null ? next : (node[key] = {})) as Json;
  }
  node[path[path.length - 1]!] = value;
}

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null && !Array.isArray(prev)
        ? merge(prev as Json, v as Json)
        : v;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let node = obj;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Names a config path the way the operator would set it: the env var if there is one. */
function settingName(path: readonly PropertyKey[]): string {
  const dotted = path.map(String).join('.');
  const env = Object.entries(ENV).find(([, p]) => p.join('.') === dotted || dotted.startsWith(`${p.join('.')}.`));
  return env ? env[0] : dotted || '(config)';
}

/**
 * Reads config/default.json, then config/local.json, then the environment, then
 * `overrides`; validates once; returns a deeply frozen object. The first invalid
 * setting becomes a ConfigError naming it.
 */
export function loadConfig(opts: LoadOptions = {}): Readonly<Config> {
  const dir = opts.dir ?? join(process.cwd(), 'config');
  const env = opts.env ?? process.env;
  let raw = merge(readJson(join(dir, 'default.json')), readJson(join(dir, 'local.json')));
  const fromEnv: Json = {};
  for (const [name, path] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(fromEnv, path, v);
  }
  raw = merge(merge(raw, fromEnv), opts.overrides ?? {});
  for (const section of ['kafka', 'http']) raw[section] ??= {};
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const missing = valueAt(raw, issue.path) === undefined;
    throw new ConfigError(settingName(issue.path), missing ? 'required' : issue.message);
  }
  return deepFreeze(parsed.data);
}
