/**
 * The tests `npm run mutation` (StrykerJS) runs against each mutant: the in-process ones that cover the core
 * modules. No test here spawns the CLI or starts Postgres (a mutant lives in Stryker's process; a child process
 * would not see it). `PQLSYNC_MUTATION_TESTS=fast` runs the FAST list only, for quick runs over batch-writer.ts,
 * router.ts and secrets.ts (the SYNCS tests take seconds each on a busy machine, and a surviving mutant runs every
 * test that reaches it).
 */
import { defineConfig } from 'vitest/config';

/** Tests that run in milliseconds to a few seconds: a mutant of batch-writer.ts, router.ts or secrets.ts is
 * checked in a moment. */
const FAST = [
  'test/unit/destination/batch-writer.test.ts',
  'test/unit/errors/secrets.test.ts',
  'test/unit/errors/secret-encodings.test.ts',
  'test/unit/plan/hash-columns.test.ts',
  'test/unit/plan/resolve-columns.test.ts',
  'test/unit/plan/resolve-columns-mutants.test.ts',
  'test/unit/plan/change-values.test.ts',
  'test/unit/state/outcome-journal.test.ts',
  'test/unit/state/state-store.test.ts',
  'test/unit/state/state-store-locks.test.ts',
  'test/unit/state/failure-report.test.ts',
  'test/unit/state/unrecorded-runs.test.ts',
  'test/unit/state/mapping-signature.test.ts',
  'test/unit/state/rename-sync.test.ts',
  'test/unit/routing/router.test.ts',
  'test/unit/routing/router-pending.test.ts',
  'test/unit/routing/router-tasks.test.ts',
  'test/unit/routing/account-routing.test.ts',
  'test/unit/routing/routing-logic.test.ts',
];
/** Whole syncs on DuckDB with the in-memory destination: what covers run-sync.ts, state/ and plan/. */
const SYNCS = [
  'test/unit/config/load-config.test.ts',
  'test/integration/guarantees.test.ts',
  'test/integration/backbone.test.ts',
];

export default defineConfig({
  test: {
    include: process.env.PQLSYNC_MUTATION_TESTS === 'fast' ? FAST : [...FAST, ...SYNCS],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
