/**
 * The tests `npm run mutation` (StrykerJS) runs against each mutant: the in-process ones that cover the core
 * modules. No test here spawns the CLI or starts Postgres (a mutant lives in Stryker's process; a child process
 * would not see it). `PQLSYNC_MUTATION_TESTS=fast` runs the FAST list only, for quick runs over batch-writer.ts,
 * router.ts, secrets.ts and plan/ (the SYNCS tests take seconds each on a busy machine, and a surviving mutant runs
 * every test that reaches it). `PQLSYNC_MUTATION_TESTS=runner` runs RUNNER only: the small whole syncs written for
 * the runner's steps (src/runner/{run-sync,plan-step,send-step,commit-step,run-context}.ts).
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
  // planSync on an in-memory DuckDB (and one Snowflake sandbox case): plan-sync.ts without whole syncs.
  'test/unit/plan/plan-sync-diff.test.ts',
  'test/unit/plan/plan-sync-recipe.test.ts',
  'test/unit/plan/plan-sync-errors.test.ts',
  'test/unit/plan/plan-sync-statements.test.ts',
  'test/unit/plan/to-change.test.ts',
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
  'test/unit/routing/router-mutants.test.ts',
  'test/unit/routing/router-accounts-mutants.test.ts',
];
/** Whole syncs on DuckDB with the in-memory destination: what covers run-sync.ts, state/ and plan/. */
const SYNCS = [
  'test/unit/config/load-config.test.ts',
  'test/integration/guarantees.test.ts',
  'test/integration/backbone.test.ts',
];
/**
 * The runner's own tests, for its steps (docs/audits/mutation-runner.md): ten-row syncs on DuckDB with the in-memory
 * destination, under a second each. guarantees.test.ts and backbone.test.ts reach the runner too, but take about
 * two minutes a pass on a loaded 2-core machine, which a surviving mutant would pay every time.
 */
const RUNNER = [
  'test/unit/runner/exit-code.test.ts',
  'test/integration/runner/commit-step.test.ts',
  'test/integration/runner/send-step.test.ts',
  'test/integration/runner/run-sync.test.ts',
  'test/integration/runner/plan-step.test.ts',
  'test/unit/runner/sync-target.test.ts',
  'test/integration/runner/run-context.test.ts',
  'test/integration/runner/mirror-guard.test.ts',
];

const LISTS: Record<string, string[]> = { fast: FAST, runner: RUNNER };

export default defineConfig({
  test: {
    include: LISTS[process.env.PQLSYNC_MUTATION_TESTS ?? ''] ?? [...FAST, ...SYNCS, ...RUNNER],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
