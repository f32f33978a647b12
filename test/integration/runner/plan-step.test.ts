/**
 * The plan step (src/runner/plan-step.ts) on a real DuckDB with the in-memory destination: what stops a run before
 * anything is written, what it folds or warns about from an earlier run, the mapping check, invalid rows, the
 * plan's own summary and `syncTarget`. Each test names the mutants it was seen to fail with, applied by hand
 * (docs/audits/mutation-runner.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { STATE, runnerConfig, startRunnerHarness, T0, type RunnerHarness } from './runner-harness.js';

const PARAM_MODEL = `/*---
name: scores
description: runner test scores
key: user_id
params:
  min_score: { type: integer, default: 0, min: 0, max: 100 }
---*/
select user_id, email, score from src.users where score >= :min_score
`;

describe('plan step', () => {
  let h: RunnerHarness;
  afterEach(async () => {
    await h.close();
  });

  const stateWritten = () => h.wh.tableExists(STATE, 'runs');
  const messages = (level: string) => h.logs.filter((l) => l.level === level).map((l) => l.msg);

  describe('what stops a run before anything is written', () => {
    // Killed: the unknown sync's message emptied, `.join(', ') || 'none'` → `&&`, the separator `', '` → `''`
    // (Stryker survivor with one sync configured) and `'none'` → `''` (no coverage before: no test had a config
    // without syncs).
    it('an unknown sync name, with the syncs there are', async () => {
      h = await startRunnerHarness({
        config: runnerConfig() + runnerConfig().split('syncs:\n')[1]!.replace('  users:', '  leads:'),
      });
      const s = await h.run({ syncName: 'nope' });
      expect(s.error).toMatchObject({
        code: 'ARGS_INVALID',
        message: "no sync named 'nope' in the config (syncs: users, leads)",
      });
      expect(await stateWritten()).toBe(false);
      h.project.writeConfig(runnerConfig().split('syncs:')[0]!);
      expect((await h.run({ syncName: 'nope' })).error?.message).toBe(
        "no sync named 'nope' in the config (syncs: none)",
      );
    });

    // Killed: the gate's `{ sync, model, sql }` emptied, `blocked !== undefined` → `false`, and its message
    // emptied.
    it('the --after-dbt gate, which sees the compiled model', async () => {
      h = await startRunnerHarness();
      const seen: unknown[] = [];
      const s = await h.run({
        gate: (info) => {
          seen.push(info);
          return 'dbt run failed for model scores';
        },
      });
      expect(s.error).toMatchObject({
        code: 'DBT_UPSTREAM_FAILED',
        message: 'sync users: not run: dbt run failed for model scores',
      });
      expect(seen).toEqual([
        { sync: 'users', model: 'scores', sql: expect.stringContaining('from src.users') as unknown },
      ]);
      expect(await stateWritten()).toBe(false);
      // No lock was taken, so none is released (run-context.ts `lockTaken = false` → `true`: releasing it fails
      // on the missing state tables and logs an error).
      expect(h.logs.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual(['run failed']);
      expect((await h.run({ gate: () => undefined })).status).toBe('success');
    });

    // Killed: `options.signal?.aborted` → `false`, and its message emptied.
    it('a shutdown that began before the run', async () => {
      h = await startRunnerHarness();
      const stop = new AbortController();
      stop.abort();
      const s = await h.run({ signal: stop.signal });
      expect(s.error).toMatchObject({
        code: 'RUN_ABORTED',
        message: 'sync users: not run: pqlsync is shutting down',
      });
      expect(await stateWritten()).toBe(false);
      expect(h.dest.calls).toBe(0);
    });
  });

  // Killed: `options.vars ? { vars: options.vars } : {}` → `{}` (every row then planned).
  it('--vars reach the model', async () => {
    h = await startRunnerHarness();
    h.project.writeModel('scores', PARAM_MODEL);
    const s = await h.run({ vars: { min_score: 60 } });
    // Scores (i * 7) % 100 of 1-10: 63 and 70 are >= 60.
    expect(s.counts).toMatchObject({ added: 2, applied: 2 });
    expect(h.dest.written.map((w) => w.key).sort()).toEqual(['10', '9']);
  });

  // Killed: `sync.max_attempts !== undefined ? { maxAttempts } : {}` → `{}` (key 3 is then retried).
  it('max_attempts parks a record that failed that many times until its values change', async () => {
    h = await startRunnerHarness({ config: runnerConfig({ extra: '    max_attempts: 1\n' }) });
    h.dest.rejectKeys.set('3', 'INVALID_EMAIL_ADDRESS: bad email');
    expect((await h.run()).counts).toMatchObject({ applied: 9, rejected: 1 });
    h.dest.rejectKeys.clear();
    expect((await h.run()).counts).toMatchObject({ added: 0, retried: 0, applied: 0 });
    await h.wh.query(`update src.users set email = 'fixed@example.com' where user_id = 3`);
    expect((await h.run()).counts).toMatchObject({ added: 1, applied: 1 });
  });

  describe('what an earlier run left', () => {
    // Killed: the fold's `pending.folded > 0` → `false` and its log line's fields or text emptied; in a plan,
    // `pending > 0` → `false` and the warning's text emptied.
    it('a journal an earlier run did not fold: a plan warns, the next run folds it and says so', async () => {
      h = await startRunnerHarness();
      const { summary: lost } = await h.runLosingLock();
      expect(lost.error?.code).toBe('STATE_LOCK_HELD');
      h.logs.length = 0;
      const plan = await h.run({ dryRun: true });
      expect(plan.status).toBe('planned');
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          outcomes: 5,
          msg: 'an earlier run ended before folding 5 outcomes into the snapshot: this plan counts those records as changes, the next run folds them and does not send them again',
        },
      ]);
      h.logs.length = 0;
      h.clock.t = T0.getTime() + 200_000; // run-b's lease is over
      const next = await h.run();
      expect(next.counts).toMatchObject({ added: 5, applied: 5 });
      expect(
        h.logs.filter(
          (l) => l.msg === 'folded the outcome journal of an earlier run that ended before folding it',
        ),
      ).toEqual([
        {
          level: 'info',
          runIds: [lost.runId],
          outcomes: 5,
          msg: 'folded the outcome journal of an earlier run that ended before folding it',
        },
      ]);
      expect(await h.keys('snapshot')).toHaveLength(10);
    });

    // Killed: settleKeptRuns' `settled.length > 0` → `false` and its warning emptied, and the `catch` warning's
    // fields or text emptied.
    it('the end of an earlier run that could not write it: written by the next run that can', async () => {
      h = await startRunnerHarness();
      h.faulty.add({ method: 'query', match: /update .*runs.* set status = /s, nth: 1, fail: true });
      const failed = await h.run();
      expect(failed.status).toBe('failed');
      h.faulty.clear();
      // The next run cannot write it either (its late update fails): it says so and runs on.
      h.faulty.add({ method: 'query', match: /status in \('running', 'abandoned'\)/, fail: true });
      h.logs.length = 0;
      expect((await h.run()).status).toBe('success');
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          err: 'injected failure: query call 1',
          msg: 'could not record the end of earlier runs yet; the next run tries again',
        },
      ]);
      h.faulty.clear();
      h.logs.length = 0;
      expect((await h.run()).status).toBe('success');
      expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
        {
          level: 'warn',
          runIds: [failed.runId],
          msg: 'recorded the end of earlier runs that could not write it',
        },
      ]);
      expect(await h.runsRows()).toContainEqual(
        expect.objectContaining({ run_id: failed.runId, status: 'failed' }),
      );
    });
  });

  describe('the mapping', () => {
    // Killed: `if (rematched)` → `false` and its warning emptied; `fresh: dry && rematched` → `false` (the plan then
    // shows no change under the new mapping).
    it('a changed object is refused; --rematch forgets the snapshot, and its plan shows every row as new', async () => {
      h = await startRunnerHarness();
      expect((await h.run()).counts.applied).toBe(10);
      h.project.writeConfig(runnerConfig().replace('object: Lead', 'object: Contact'));
      const refused = await h.run();
      expect(refused.error?.code).toBe('MAPPING_CHANGED');
      const plan = await h.run({ dryRun: true, rematch: true });
      expect(plan.counts).toMatchObject({ added: 10, applied: 0 });
      expect(messages('warn')).toEqual(['the mapping changed: --rematch forgot the snapshot and failures']);
      h.logs.length = 0;
      h.dest.written.length = 0;
      const s = await h.run({ rematch: true });
      expect(s.counts).toMatchObject({ added: 10, applied: 10 });
      expect(messages('warn')).toEqual(['the mapping changed: --rematch forgot the snapshot and failures']);
      expect(h.dest.records.get('Contact')?.size).toBe(10);
    });
  });

  // Killed: `counts.invalid = nullKeys + duplicateKeyRows` → `-`, the warning's fields or text emptied.
  it('rows with a null or repeated key are counted invalid, warned about and not sent', async () => {
    h = await startRunnerHarness();
    await h.wh.query(
      `insert into src.users values (null, 'n1@example.com', 1), (null, 'n2@example.com', 2),
         (4, 'dup@example.com', 3)`,
    );
    const s = await h.run();
    expect(s.counts).toMatchObject({ invalid: 4, added: 9, applied: 9 });
    expect(h.logs.filter((l) => l.level === 'warn')).toEqual([
      {
        level: 'warn',
        nullKeys: 2,
        duplicateKeyRows: 2,
        sampleDuplicateKeys: ['4'],
        msg: '4 invalid rows (null or duplicate user_id) are not sent',
      },
    ]);
  });

  // Killed: `dry && options.warehouse.estimateBytes ? …` → `true`/`||` (a run asks for an estimate) and the
  // `estimatedBytes` spread → `{}`; the plan's summary object emptied; `...(dry ? {} : { runId })` → `{}` for the
  // flag rate (then not written to the runs row); send-step.ts previewStep's `if (!router)` → `false` (a task list
  // then appears in a plan without routing).
  it("a plan reports what it would do and the warehouse's estimate; a run records its flag rate", async () => {
    h = await startRunnerHarness();
    const asked: string[] = [];
    Object.defineProperty(h.faulty, 'estimateBytes', {
      value: async (sql: { sql: string }) => {
        asked.push(sql.sql);
        return 123_456;
      },
    });
    const plan = await h.run({ dryRun: true });
    expect(plan.plan).toEqual({
      estimatedBytes: 123_456,
      modelRows: 10,
      validRows: 10,
      invalid: { nullKeys: 0, duplicateKeyRows: 0, sampleDuplicateKeys: [] },
      snapshotRows: 0,
      destination: 'crm',
      object: 'Lead',
      mode: 'upsert',
    });
    expect(asked).toHaveLength(1);
    const s = await h.run();
    expect(s.status).toBe('success');
    expect(asked).toHaveLength(1);
    expect(await h.runsRows()).toMatchObject([{ flag_rate: 0.1 }]);
    // Nothing to send and no routing: the same plan, of a synced model, with no task list.
    const again = await h.run({ dryRun: true });
    expect(again.plan).toEqual({ ...plan.plan, snapshotRows: 10 });
  });
});
