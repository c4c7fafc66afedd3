import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The operator console's bundle: `npm run build:console` writes it to dist/console-app/, which the
 * service serves at /console. Everything (Preact, htm, zod) is in the bundle: no CDN, no request
 * to any other host at run time.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console-app/', import.meta.url)),
    emptyOutDir: true,
    // Small and few files: one script, one stylesheet.
    modulePreload: false,
    sourcemap: false,
    target: 'es2022',
  },
});
