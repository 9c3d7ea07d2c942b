import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real daemons and processes; running files one at a time keeps
    // process counts they assert on unambiguous and the 2-core CI machine unsaturated.
    fileParallelism: false
  }
});
