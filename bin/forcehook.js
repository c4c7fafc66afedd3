#!/usr/bin/env node
// Runs the compiled CLI when `npm run build` has produced it, else the TypeScript
// sources through tsx, so a fresh clone works without a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
