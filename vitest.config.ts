import { defineConfig } from 'vitest/config';

// One config for the workspace: unit tests beside the code (src/**/*.test.ts), end-to-end tests that
// start the real server (test/**/*.test.ts), and benchmarks (bench/**/*.bench.ts, `npm run bench`).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    benchmark: { include: ['packages/*/bench/**/*.bench.ts'] },
  },
});
