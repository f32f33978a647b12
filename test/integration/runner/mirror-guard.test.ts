/**
 * The mirror guard (src/runner/plan-step.ts, `mirrorGuard`) in ten-row runs on a real DuckDB with the in-memory
 * destination, for the runner's mutation list: test/integration/guarantees.test.ts pins the same rules on 300 rows,
 * but takes minutes a pass under Stryker. Each test names the mutants it was seen to fail with, applied by hand
 * (docs/audits/mutation-runner.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runnerConfig, startRunnerHarness, type RunnerHarness } from './runner-harness.js';

const HINT_REMOVE = '\n  hint: check the model; rerun with --allow-mass-removal if this is intended';
const HINT_EMPTY =
  '\n  hint: check the model and its upstream data; rerun with --allow-mass-removal if this is intended';

describe('mirror guard', () => {
  let h: RunnerHarness;
  afterEach(async () => {
    await h.close();
  });

  // Killed: `pct > maxRemovedPct` → `>=` (the run at exactly 10% is refused), → `true`/`false`; `pct = (removed /
  // snapshotRows) * 100` → `removed * snapshotRows` or `/ 100`; the refusal's message, hint or `{ sync }` location
  // emptied; `pct.toFixed(1)`; `ctx.options.allowMassRemoval` → `false` (the last run is refused as well).
  it('allows a removal of exactly max_removed_pct, refuses one above it unless --allow-mass-removal', async () => {
    h = await startRunnerHarness({
      config: runnerConfig({ mode: 'mirror', extra: '    max_removed_pct: 10\n' }),
    });
    expect((await h.run()).counts).toMatchObject({ added: 10, applied: 10 });

    await h.wh.query('delete from src.users where user_id = 1'); // 1 of 10: 10%
    const atLimit = await h.run();
    expect(atLimit.status).toBe('success');
    expect(atLimit.counts).toMatchObject({ removed: 1, applied: 1 });

    await h.wh.query('delete from src.users where user_id = 2'); // 1 of 9: 11.1%
    const over = await h.run();
    expect(over.status).toBe('failed');
    expect(over.error).toEqual({
      code: 'MIRROR_GUARD',
      kind: 'system',
      message: `sync users: this run would remove 1 of 9 synced records (11.1%), above max_removed_pct 10; refusing${HINT_REMOVE}`,
      location: { sync: 'users' },
      hint: 'check the model; rerun with --allow-mass-removal if this is intended',
    });
    expect(await h.keys('snapshot')).toHaveLength(9);

    const allowed = await h.run({ allowMassRemoval: true });
    expect(allowed.status).toBe('success');
    expect(allowed.counts).toMatchObject({ removed: 1, applied: 1 });
    expect(await h.keys('snapshot')).toHaveLength(8);
  });

  // Killed: `plan.validRows === 0` → `false` (the removal message at 100% is given instead), its message or hint
  // emptied, and `plan.snapshotRows === 0` → `false` (the first run of an empty model is refused).
  it('refuses to clear every synced record when the model returns no rows, but not on a first run', async () => {
    h = await startRunnerHarness({ config: runnerConfig({ mode: 'mirror' }) });
    await h.wh.query('create table src.kept as select * from src.users');
    await h.wh.query('delete from src.users');
    const first = await h.run();
    expect(first.status).toBe('success');
    expect(first.counts).toMatchObject({ added: 0, removed: 0, applied: 0 });

    await h.wh.query('insert into src.users select * from src.kept');
    expect((await h.run()).counts).toMatchObject({ added: 10, applied: 10 });
    await h.wh.query('delete from src.users');
    const empty = await h.run();
    expect(empty.error).toEqual({
      code: 'MIRROR_GUARD',
      kind: 'system',
      message: `sync users: the model returned 0 valid rows, so mirror mode would clear all 10 synced records; refusing${HINT_EMPTY}`,
      location: { sync: 'users' },
      hint: 'check the model and its upstream data; rerun with --allow-mass-removal if this is intended',
    });
    expect(await h.keys('snapshot')).toHaveLength(10);
  });

  // Killed: `target.mode !== 'mirror'` → `false` (an upsert sync whose model is empty is then refused).
  it('leaves an upsert sync whose model returns no rows alone', async () => {
    h = await startRunnerHarness();
    expect((await h.run()).counts).toMatchObject({ added: 10, applied: 10 });
    await h.wh.query('delete from src.users');
    const s = await h.run();
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ added: 0, removed: 10, applied: 0 });
  });
});
