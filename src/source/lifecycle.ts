import type { TransitionTable } from '../core/state-machine.js';

/**
 * One followed org. `resolving` reads which objects CDC covers; `running`
 * streams and/or polls; `needs_reauth` waits for a person (the grant is gone)
 * and does nothing until the connection is re-authorized.
 */
export type SupervisorState = 'idle' | 'resolving' | 'running' | 'needs_reauth' | 'stopping' | 'stopped';

export const SUPERVISOR_TRANSITIONS: TransitionTable<SupervisorState> = {
  idle: ['resolving', 'stopping', 'stopped'],
  resolving: ['running', 'needs_reauth', 'stopping', 'resolving'],
  running: ['resolving', 'needs_reauth', 'stopping'],
  needs_reauth: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};
