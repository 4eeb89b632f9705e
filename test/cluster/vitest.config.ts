import { defineConfig } from 'vitest/config';

// The 3-node failover test (`npm run test:cluster`): kills the jobs stream's leader, then a
// renderer's node, under load (35–60 s). Not in the default suite while it shows an intermittent
// lost terminal event (about 1 run in 3 on this 2-core machine; see issue #13's note).
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster-test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
