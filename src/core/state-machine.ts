import { ForcehookError } from './errors.js';

/**
 * A lifecycle as an explicit table: `transitions[from]` lists the states it may
 * move to. Anything else is a bug and throws, rather than silently producing a
 * state nobody designed for.
 */
export type TransitionTable<S extends string> = { readonly [K in S]: readonly S[] };

export class StateMachine<S extends string> {
  #state: S;
  readonly #listeners = new Set<(to: S, from: S) => void>();

  constructor(
    readonly name: string,
    private readonly table: TransitionTable<S>,
    initial: S,
  ) {
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  can(to: S): boolean {
    return this.table[this.#state].includes(to);
  }

  to(next: S): void {
    if (next === this.#state) return;
    if (!this.can(next)) {
      throw new ForcehookError('ILLEGAL_TRANSITION', `${this.name}: ${this.#state} -> ${next} is not allowed`);
    }
    const from = this.#state;
    this.#state = next;
    for (const l of this.#listeners) l(next, from);
  }

  onChange(listener: (to: S, from: S) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
