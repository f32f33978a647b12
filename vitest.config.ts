import { defineConfig } from 'vitest/config';

/** What both projects below run with. */
const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks',
  // snowflake-sdk loads the AWS SDK, whose notice about its own future Node versions (NodeVersionSupportWarning,
  // on Node < 22) is not pqlsync's output: its documented switch keeps it out of the test output.
  env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
} as const;

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

export default defineConfig({
  test: {
    // Once per run: the CLI the tests spawn, compiled; one Postgres server shared by the files that ask for one.
    // Only here: a project that inherited it (`extends: true`) would run it once more for itself.
    globalSetup: ['test/helpers/global-setup.ts'],
    maxWorkers: 2,
    projects: [
      // Each file in a fresh process: the integration, e2e, reliability and conformance files start servers,
      // set loggers and environment variables, and spawn the CLI.
      { test: { ...shared, name: 'isolated', include: ['test/!(unit)/**/*.test.ts', ...OWN_MODULES] } },
      // Unit files share their worker's loaded modules (DuckDB, jsforce, the HubSpot client are loaded once per
      // worker instead of once per file: half the unit files' CPU time).
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: OWN_MODULES,
          isolate: false,
          // Each file starts from a fresh process's secrets and logger.
          setupFiles: ['test/helpers/unit-file-setup.ts'],
        },
      },
    ],
  },
});
