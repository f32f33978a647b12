import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Once per run: the CLI the tests spawn, compiled; one Postgres server shared by the files that ask for one.
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // snowflake-sdk loads the AWS SDK, whose notice about its own future Node versions (NodeVersionSupportWarning,
    // on Node < 22) is not pqlsync's output: its documented switch keeps it out of the test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
