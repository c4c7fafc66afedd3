import { existsSync } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../../core/errors.js';
import { isWorkflow, type Workflow } from './define.js';
import { WorkflowRegistry } from './registry.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

export interface LoadWorkflowsOptions {
  /** What relative entries are relative to. @default process.cwd() (where config/ is read from) */
  root?: string;
}

/**
 * Where a `workflows` config entry points. A bare name (`lead-followup`) means
 * `config/workflows/<name>.{ts,mts,js,mjs}`, so the examples shipped there are
 * loadable by name; anything else is a path relative to the project root,
 * with or without its extension.
 */
export function resolveWorkflowPath(entry: string, root: string): string {
  const bare = !entry.includes('/') && !entry.includes('\\') && extname(entry) === '';
  const base = bare ? join(root, 'config', 'workflows', entry) : isAbsolute(entry) ? entry : resolve(root, entry);
  if (extname(base) !== '' && existsSync(base)) return base;
  for (const ext of EXTENSIONS) if (existsSync(base + ext)) return base + ext;
  throw new ConfigError('workflows', `${entry}: no such module (looked for ${bare || extname(base) === '' ? `${base}{${EXTENSIONS.join(',')}}` : base})`);
}

/** The workflows a module offers: its default export and its named exports, each once. */
export function workflowsIn(mod: Record<string, unknown>): Workflow[] {
  const found = new Set<Workflow>();
  for (const value of Object.values(mod)) {
    if (isWorkflow(value)) found.add(value);
    // `export default [a, b]` is a natural way to ship a family of workflows.
    else if (Array.isArray(value)) for (const v of value) if (isWorkflow(v)) found.add(v);
  }
  return [...found];
}

let tsxRegistered = false;

/**
 * A TypeScript workflow loads as it is where Node strips types itself (22.18 and later, 24); on
 * Node 20 in a checkout, through tsx (a development dependency). The container image has neither
 * a loader nor sources: its shipped workflows are compiled at build, and modules mounted into it
 * load through Node's own type stripping.
 */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || tsxRegistered) throw err;
    let register: () => unknown;
    try {
      ({ register } = await import('tsx/esm/api'));
    } catch {
      throw new Error(
        `this Node (${process.version}) cannot load TypeScript by itself and tsx is not installed: compile the module to .js, or run Node 22.18 or later`,
      );
    }
    register();
    tsxRegistered = true;
    // Node caches the failed import under its URL: a query makes it a new module for the loader.
    return (await import(`${url}?tsx`)) as Record<string, unknown>;
  }
}

/**
 * Imports every module named in config `workflows`, at start: a module that
 * fails to load or offers no workflow stops start-up with one line naming it,
 * instead of failing deliveries later.
 */
export async function loadWorkflows(entries: readonly string[], opts: LoadWorkflowsOptions = {}): Promise<WorkflowRegistry> {
  const root = opts.root ?? process.cwd();
  const registry = new WorkflowRegistry();
  for (const entry of entries) {
    const path = resolveWorkflowPath(entry, root);
    let mod: Record<string, unknown>;
    try {
      mod = await importModule(path);
    } catch (err) {
      throw new ConfigError('workflows', `${entry}: could not be loaded (${(err as Error).message})`);
    }
    const workflows = workflowsIn(mod);
    if (workflows.length === 0) throw new ConfigError('workflows', `${entry}: exports no workflow (export one made with defineWorkflow)`);
    for (const w of workflows) registry.add(w, entry);
  }
  return registry;
}
