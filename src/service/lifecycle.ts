import type { TransitionTable } from '../core/state-machine.js';

/**
 * The service instance lifecycle. `degraded` is the state while Kafka does not
 * answer: HTTP stays up (liveness), /readyz says 503, and the instance returns
 * to `running` by itself when the broker is back.
 */
export type ServiceState = 'starting' | 'running' | 'degraded' | 'stopping' | 'stopped';

export const SERVICE_TRANSITIONS: TransitionTable<ServiceState> = {
  starting: ['running', 'degraded', 'stopping'],
  running: ['degraded', 'stopping'],
  degraded: ['running', 'stopping'],
  stopping: ['stopped'],
  stopped: [],
};
