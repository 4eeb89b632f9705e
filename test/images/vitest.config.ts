import { defineConfig } from 'vitest/config';

// The opt-in image smoke test (`npm run test:images`): not matched by the default config's
// `test/**/*.test.ts`, because it builds a container image and runs containers (minutes).
export default defineConfig({
  test: {
    include: ['test/images/**/*.image-test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 1_200_000,
    reporters: ['default'],
  },
});
