import { defineConfig } from 'vitest/config';

// One config for every layer; integration and e2e tests start their own nats-server
// processes on free ports, so files may run in parallel (2 cores: keep it at 2).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
