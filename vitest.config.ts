import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,collector,alerter,api,simulator,cli}/**/*.test.ts', 'supabase/tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'grafana-plugin/**'],
    // Integration tests start real servers; on two cores, two files at a time
    // keeps them from starving each other's timers.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60000,
    hookTimeout: 120000,
    reporters: ['default'],
  },
});
