import { build } from 'vite';

/**
 * Browser tests need the console's bundle: built once per run, the same way `npm run build:console`
 * does (the built files are not committed).
 */
export default async function setup(): Promise<void> {
  await build({ configFile: 'console/vite.config.ts', logLevel: 'warn' });
}
