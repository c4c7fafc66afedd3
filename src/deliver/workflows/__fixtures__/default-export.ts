import { defineWorkflow } from '../define.js';

export default defineWorkflow({ name: 'fixture-default', run: () => undefined });
