import { ConfigError } from '../../core/errors.js';
import type { Workflow } from './define.js';

/** The workflows this instance can run, by name; fixed once the service started. */
export class WorkflowRegistry {
  readonly #byName = new Map<string, Workflow>();

  constructor(workflows: Iterable<Workflow> = []) {
    for (const w of workflows) this.add(w);
  }

  add(workflow: Workflow, origin?: string): void {
    if (this.#byName.has(workflow.name)) {
      // Two modules claiming one name would make a subscription's meaning depend on load order.
      throw new ConfigError('workflows', `workflow '${workflow.name}' is defined twice${origin ? ` (again in ${origin})` : ''}`);
    }
    this.#byName.set(workflow.name, workflow);
  }

  get(name: string): Workflow | undefined {
    return this.#byName.get(name);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  get size(): number {
    return this.#byName.size;
  }
}
