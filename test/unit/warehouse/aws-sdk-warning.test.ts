/**
 * snowflake-sdk loads the AWS SDK, which on Node below 22 emits `NodeVersionSupportWarning` (a notice about its own
 * future releases) once per process. The suite loads it in every worker that tests Snowflake; vitest.config.ts sets
 * the SDK's documented switch so the notice stays out of the test output (issue 21, item 9). The CLI's tests run it
 * with NODE_NO_WARNINGS (test/helpers/cli.ts).
 */
import { expect, it } from 'vitest';

it('loading snowflake-sdk in a test process emits no AWS SDK Node version warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    await import('snowflake-sdk');
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings.filter((w) => w.includes('NodeVersionSupportWarning'))).toEqual([]);
});
