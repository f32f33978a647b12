/**
 * The tests `npm run mutation` (StrykerJS) runs against each mutant: the in-process ones that cover the core
 * modules, quick enough to run hundreds of times on a 2-core machine. No test here spawns the CLI or starts
 * Postgres (a mutant lives in Stryker's process; a child process would not see it).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/integration/guarantees.test.ts',
      'test/integration/backbone.test.ts',
      'test/unit/routing/router.test.ts',
      'test/unit/routing/routing-logic.test.ts',
      'test/unit/config/load-config.test.ts',
      'test/unit/mutation/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
