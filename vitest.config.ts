import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'testkit/**/*.test.ts'],
    // One real broker for the whole run; each file isolates itself by topic prefix.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // 2 cores: the broker JVM and the emulator need room too.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
