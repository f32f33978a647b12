/**
 * The tests `npm run mutation` (StrykerJS) runs against each mutant: the in-process ones that cover the core
 * modules. No test here spawns the CLI or starts Postgres (a mutant lives in Stryker's process; a child process
 * would not see it). `PQLSYNC_MUTATION_TESTS=fast` leaves out backbone.test.ts (17 DuckDB syncs, about 20 s a
 * run), for quick runs over batch-writer.ts, router.ts and secrets.ts.
 */
import { defineConfig } from 'vitest/config';

const FAST = [
  'test/unit/destination/batch-writer.test.ts',
  'test/unit/errors/secrets.test.ts',
  'test/unit/routing/router.test.ts',
  'test/unit/routing/routing-logic.test.ts',
  'test/unit/config/load-config.test.ts',
  'test/integration/guarantees.test.ts',
];

export default defineConfig({
  test: {
    include:
      process.env.PQLSYNC_MUTATION_TESTS === 'fast' ? FAST : [...FAST, 'test/integration/backbone.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
