import { describe, expect, it } from 'vitest';
import { StateMachine, type TransitionTable } from './state-machine.js';

type S = 'idle' | 'running' | 'stopped';
const table: TransitionTable<S> = { idle: ['running', 'stopped'], running: ['stopped'], stopped: [] };

describe('StateMachine', () => {
  it('allows listed transitions and reports them', () => {
    const m = new StateMachine('test', table, 'idle');
    const seen: string[] = [];
    m.onChange((to, from) => seen.push(`${from}->${to}`));
    m.to('running');
    m.to('stopped');
    expect(m.state).toBe('stopped');
    expect(seen).toEqual(['idle->running', 'running->stopped']);
  });

  it('rejects illegal transitions with a coded error', () => {
    const m = new StateMachine('test', table, 'stopped');
    expect(() => m.to('running')).toThrow(expect.objectContaining({ code: 'ILLEGAL_TRANSITION' }));
    expect(m.state).toBe('stopped');
  });
});
