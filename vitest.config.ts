import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      // Sub-entries first: a string alias also matches '@app/storage/...'.
      '@app/storage/health': fileURLToPath(new URL('./libs/storage/src/health/index.ts', import.meta.url)),
      '@app/storage/metrics': fileURLToPath(new URL('./libs/storage/src/metrics/index.ts', import.meta.url)),
      '@app/storage/cleanup': fileURLToPath(new URL('./libs/storage/src/cleanup/index.ts', import.meta.url)),
      '@app/storage': fileURLToPath(new URL('./libs/storage/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['libs/**/*.spec.ts', 'src/**/*.spec.ts', 'test/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    setupFiles: ['./test/support/setup.ts'],
    // The table reporter ends the output with the provider conformance results (passed / failed /
    // skipped per provider, each skip with its reason). .ci/run names the same reporters.
    reporters: ['default', './test/conformance/table-reporter.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: a few files at a time keeps servers and databases responsive.
    maxWorkers: 3,
  },
});
