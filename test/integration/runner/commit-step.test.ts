/**
 * The commit step (src/runner/commit-step.ts) on a real DuckDB with the in-memory destination: what a run folds,
 * prunes and writes at its end. Each test names the mutant it was seen to fail with, applied by hand
 * (docs/audits/mutation-runner.md).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/runner/run-sync.js';
import { startRunnerHarness, type RunnerHarness } from './runner-harness.js';

describe('commit step', () => {
  let h: RunnerHarness;
  beforeEach(async () => {
    h = await startRunnerHarness();
    h.dest.batchSize = 5;
  });
  afterEach(async () => {
    await h.close();
  });

  // Killed: `stopError?.code !== 'STATE_LOCK_HELD'` → `true` (the run that lost its lock folds its journal into
  // the snapshot the new holder owns: the snapshot then has keys 1-5) and `?? null` → `&& null` on the error
  // written to the runs row (then null).
  it('a run that lost its lock leaves its journal unfolded for the run that holds the lock', async () => {
    const { summary: s, dest } = await h.runLosingLock();
    expect(s.status).toBe('failed');
    expect(s.error?.code).toBe('STATE_LOCK_HELD');
    expect(exitCodeFor([s])).toBe(4);
    expect(dest.written).toHaveLength(10);
    // The first batch was journaled; the second's heartbeat found the lock gone, so it never was.
    expect(await h.keys('journal')).toEqual(['1', '2', '3', '4', '5']);
    expect(await h.keys('snapshot')).toEqual([]);
    const [row] = await h.runsRows();
    // Applied counts the committed batch only: the second is sent again by the run that holds the lock.
    expect(row).toMatchObject({ run_id: s.runId, status: 'failed', applied: 5 });
    expect(row?.error).toBe(s.error?.message);
    expect(String(row?.error)).toMatch(/^sync users: this run lost its lock to run run-b on /);
  });

  // Killed: `store.pruneResolvedFailures(...)` removed (key 3's failure then outlives its row).
  it('drops the failure of a record the model no longer returns', async () => {
    h.dest.rejectKeys.set('3', 'INVALID_EMAIL_ADDRESS: bad email');
    expect((await h.run()).status).toBe('partial');
    expect(await h.keys('failures')).toEqual(['3']);
    await h.wh.query('delete from src.users where user_id = 3');
    const s = await h.run();
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ added: 0, changed: 0, retried: 0 });
    expect(await h.keys('failures')).toEqual([]);
  });

  // Killed: `ctx.enterPhase('plan')` removed, or its kind emptied (the prune then runs under the fold's memory
  // mark, which ends only at clean-up); the fold's mark removed (the fold then runs under the stream's limit).
  it('folds under the fold phase (room for the snapshot and journal rows), then prunes under the plan phase', async () => {
    const s = await h.run();
    expect(s.status).toBe('success');
    expect(h.phases).toEqual([
      'plan',
      'stream(0)',
      'end plan',
      'fold(10)',
      'end stream',
      'plan',
      'end fold',
      'end plan',
    ]);
  });

  // Killed: `ctx.finishing = true` → `false` (writing the end is then tried a second time, which succeeds, and
  // the run's end is not kept locally); run-sync.ts `if (ctx.finishing) throw thrown` → `false`, the kept run's
  // object emptied, and its log line's fields or text emptied.
  it('a run whose end cannot be written does not try again: it keeps it for the next run', async () => {
    h.faulty.add({ method: 'query', match: /update .*runs.* set status = /s, nth: 1, fail: true });
    const s = await h.run();
    expect(s.status).toBe('failed');
    expect(s.error?.message).toBe('injected failure: query call 1');
    // Not written by this run: still `running` until the next run settles it.
    expect(await h.runsRows()).toMatchObject([{ run_id: s.runId, status: 'running', error: null }]);
    const errors = h.logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    const keptIn = String(errors[0]?.keptIn);
    expect(keptIn).toMatch(/unrecorded-runs/);
    expect(errors[0]).toEqual({
      level: 'error',
      err: 'injected failure: query call 1',
      runError: 'injected failure: query call 1',
      keptIn,
      msg: `could not record the failed run in the state tables; its error is kept in ${keptIn} and the next run of users writes it into the runs row`,
    });
    h.faulty.clear();
    const next = await h.run();
    expect(next.status).toBe('success');
    const rows = await h.runsRows();
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.run_id === s.runId)).toMatchObject({
      status: 'failed',
      added: 10,
      applied: 10,
      api_calls: 2,
      error:
        'injected failure: query call 1\n  (recorded by the next run: the state tables could not be written when this run ended)',
    });
  });
});
