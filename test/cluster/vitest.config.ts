import { defineConfig } from 'vitest/config';

// The 3-node failover test (`npm run test:cluster`, about a minute): kills the jobs stream's leader,
// then a renderer's node, under load. Not in the default suite: on Debian bookworm's nats-server
// 2.9.10 (what `npm test` runs here) the server itself lets a stream's replicas drift apart after a
// leader change, which fails about one run in eight; nats-server 2.9.21+ fixed it
// (deploy/nats/CLUSTER.md, "Which nats-server"). Put it back in the default suite (and CI) on 2.9.21+.
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
