import { defineWorkflow } from '../define.js';

export const first = defineWorkflow({ name: 'fixture-first', run: () => undefined });
export const second = defineWorkflow({ name: 'fixture-second', run: async () => 'ok' });
// The same workflow exported twice counts once.
export default first;
export const notAWorkflow = { name: 'plain', run: () => undefined };
