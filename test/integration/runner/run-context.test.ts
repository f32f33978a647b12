/**
 * RunContext (src/runner/run-context.ts) through whole runs on a real DuckDB with the in-memory destination: the
 * warehouse phase marks it enters and leaves. Each test names the mutants it was seen to fail with, applied by
 * hand (docs/audits/mutation-runner.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startRunnerHarness, type RunnerHarness } from './runner-harness.js';

describe('RunContext', () => {
  let h: RunnerHarness;
  afterEach(async () => {
    await h.close();
  });

  // Killed: enterPhase's `warehouse.phase?.(kind, scope)` → `warehouse.phase(kind, scope)` (the run fails: phase
  // is not a function) and leavePhase's `end?.()` → `end()` (the clean-up then warns that it could not restore
  // the memory limit). Both applied by hand: this test failed with each.
  it('a warehouse without phase marks (Postgres, BigQuery, Snowflake) runs and cleans up quietly', async () => {
    h = await startRunnerHarness({ phaseless: true });
    const s = await h.run();
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ added: 10, applied: 10 });
    expect(h.logs.filter((l) => l.level !== 'info')).toEqual([]);
    expect(h.phases).toEqual([]);
  });
});
