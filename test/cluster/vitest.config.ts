import { defineConfig } from 'vitest/config';

// The 3-node failover test (`npm run test:cluster`, about a minute): kills the jobs stream's leader,
// then a renderer's node, under load. A separate command (CI runs it after `npm test`): it needs
// nats-server >= 2.9.21 — Debian bookworm's 2.9.10 (what `npm test` runs here) lets a stream's
// replicas drift apart after a leader change (deploy/nats/CLUSTER.md, "Which nats-server"); the npm
// script sets TESSERA_CLUSTER_NATS_SERVER from deploy/scripts/cluster-nats-server.sh.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster-test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 300_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
