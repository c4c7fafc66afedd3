import { defineConfig } from 'vitest/config';

/**
 * Three tiers. `unit`: no broker, no child process (`*.test.ts`). `integration`: a real broker, child
 * processes (`*.integration.test.ts` outside test/e2e). `e2e`: whole stacks (test/e2e). The broker is
 * started once per run and shared by the projects that need it (test/global-setup.ts).
 */
const BROKER = ['test/global-setup.ts'];
const ROOTS = ['src', 'test', 'testkit'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // 2 cores, but most end-to-end files spend their time waiting on the emulator's and the broker's
    // timing, not computing: three files at once keep both cores busy without starving the broker JVM.
    maxWorkers: 3,
    fileParallelism: true,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ROOTS.map((r) => `${r}/**/*.test.ts`),
          exclude: ['**/*.integration.test.ts', 'test/e2e/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ROOTS.map((r) => `${r}/**/*.integration.test.ts`),
          exclude: ['test/e2e/**', '**/node_modules/**'],
          globalSetup: BROKER,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // The console's browser test needs its bundle.
          globalSetup: [...BROKER, 'test/console-build.ts'],
        },
      },
    ],
  },
});
