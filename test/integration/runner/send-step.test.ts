/**
 * The send step (src/runner/send-step.ts) on a real DuckDB with the in-memory destination and task writer: routing
 * in runs and plans, the lease heartbeat between batches, tiers entered, removals, the destination's retry config,
 * shutdowns and what the summary counts. Each test names the mutants it was seen to fail with, applied by hand
 * (docs/audits/mutation-runner.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Change, RecordOutcome, SyncTarget, WriteBatch } from '../../../src/destination/destination.js';
import type { PlannedTask } from '../../../src/routing/router.js';
import { MemoryDestination } from '../../helpers/memory-destination.js';
import {
  MemoryTaskWriter,
  MODEL,
  runnerConfig,
  startRunnerHarness,
  T0,
  type RunnerHarness,
} from './runner-harness.js';

/** Routing with the default tiers (hot >= 70, pql >= 40) and one rule that alerts. */
const ROUTING = `    routing:
      rules:
        - name: everyone
          alert: true
`;

const keysOf = (changes: readonly Change[]) =>
  changes.map((c) => c.key).sort((a, b) => Number(a) - Number(b));

describe('send step', () => {
  let h: RunnerHarness;
  afterEach(async () => {
    await h.close();
  });

  describe('routing', () => {
    // Killed: previewStep's `Math.max(0, PLANNED_TASKS_LISTED - tasks.length)` → `+` (300 listed) and
    // `Math.max` → `Math.min` (none listed); `ctx.counts.tasks += …` → `-=`; the listing's `tasks.push(…)` dropped.
    it('a plan lists at most 200 of the tasks a run would create and counts them all, writing nothing', async () => {
      h = await startRunnerHarness({ rows: 300, config: runnerConfig({ extra: ROUTING }), chunkRows: 100 });
      await h.wh.query('update src.users set score = 80');
      const writer = new MemoryTaskWriter();
      const s = await h.run({ dryRun: true, taskWriter: async () => writer });
      expect(s.status).toBe('planned');
      expect(s.counts.tasks).toBe(300);
      expect(s.plan?.tasks).toHaveLength(200);
      expect(new Set(s.plan?.tasks?.map((t) => t.key)).size).toBe(200);
      expect(writer.tasks.size).toBe(0);
      expect(h.dest.written).toEqual([]);
      // Owners listed, records looked up: the plan's API calls are the writer's.
      expect(writer.calls).toBeGreaterThan(0);
      expect(s.apiCalls).toBe(writer.calls);
    });

    // Killed: previewStep's `ctx.apiCalls = destination.apiCalls() - ctx.callsBefore` → `+`, and that line dropped
    // (a plan without routing then reports 0 calls); the preflight's `{ readOnly: true }` → `{}`; plan-step.ts
    // `estimatedBytes !== undefined ? { estimatedBytes } : {}` → `true` (Stryker survivor; applied by hand since:
    // this test fails).
    it("a plan without routing counts only its own preflight's calls of a destination used before", async () => {
      h = await startRunnerHarness();
      const preflights: unknown[] = [];
      class Counting extends MemoryDestination {
        override async preflight(_t?: SyncTarget, options?: { readOnly?: boolean }): Promise<void> {
          preflights.push(options);
          this.calls++;
        }
      }
      const dest = new Counting();
      dest.calls = 7; // an earlier sync of the same CLI run
      const s = await h.run({ dryRun: true, destination: async () => dest });
      expect(s.status).toBe('planned');
      // A plan's preflight is read-only (it creates no field or property); a run's may create what is missing.
      expect(preflights).toEqual([{ readOnly: true }]);
      expect((await h.run({ destination: async () => dest })).status).toBe('success');
      expect(preflights).toEqual([{ readOnly: true }, undefined]);
      expect(s.plan).toMatchObject({ modelRows: 10, validRows: 10, destination: 'crm', object: 'Lead' });
      // A warehouse that cannot estimate (DuckDB) leaves the key out, not `estimatedBytes: undefined`.
      expect(Object.keys(s.plan ?? {})).not.toContain('estimatedBytes');
      expect(s.apiCalls).toBe(1);
    });

    // Killed: startRouter's `planned.toSend === 0 && !outstanding` → `||` (no router for the run's changes),
    // `if (router && routed)` → `false` (no task sent), `ctx.countTasks(sent)` dropped, the final
    // `ctx.countApiCalls()` dropped (the writer's calls not counted), `sent.alerts.length > 0` → `false`/`>= 0`
    // with `onRouted` checked for calls with no alert.
    it('a run creates the tasks of the rows entering a task tier, counts them and the API calls, and alerts', async () => {
      h = await startRunnerHarness({ config: runnerConfig({ extra: ROUTING }) });
      h.dest.batchSize = 5;
      const writer = new MemoryTaskWriter();
      const alerted: PlannedTask[][] = [];
      const s = await h.run({
        taskWriter: async () => writer,
        tierWatch: { tier: 'hot', onEnter: () => undefined, onRouted: (tasks) => alerted.push(tasks) },
      });
      expect(s.status).toBe('success');
      // Scores (i * 7) % 100: key 10 is hot (70), keys 6-9 pql (42-63).
      expect([...writer.tasks.keys()].sort()).toEqual(
        ['10:hot', '6:pql', '7:pql', '8:pql', '9:pql'].map((k) => `pqlsync:Lead:${k}:2026-03-02`).sort(),
      );
      expect(s.counts.tasks).toBe(5);
      expect(s.tasksFailed).toBeUndefined();
      expect(s.apiCalls).toBe(h.dest.calls + writer.calls);
      expect(writer.calls).toBeGreaterThan(0);
      // One alert call per batch that created alerting tasks, never an empty one.
      expect(alerted.every((tasks) => tasks.length > 0)).toBe(true);
      expect(
        alerted
          .flat()
          .map((t) => t.key)
          .sort((a, b) => Number(a) - Number(b)),
      ).toEqual(['6', '7', '8', '9', '10']);
    });

    // Killed: startRouter's `!dry && planned.toSend === 0 ? … : false` → `false`, `true` (a plan then starts the
    // router for them and lists `tasks: []`) and `!dry` → `dry`, the
    // `outstanding` test `&& !outstanding` → `&& outstanding`, `ctx.countTasks(await router.resumeOutstanding())`
    // dropped, `if (router)` → `false`, and the `toSend === 0` branch's `ctx.countApiCalls()` dropped; run-sync.ts
    // the warning's fields `{ tasksFailed }` → `{}` (Stryker survivor, killed since: applied by hand, this test
    // failed).
    it('tasks the CRM refused are sent again by the next run, even with no row changed', async () => {
      h = await startRunnerHarness({ config: runnerConfig({ extra: ROUTING }) });
      const writer = new MemoryTaskWriter();
      writer.refuse = 'INVALID_CROSS_REFERENCE_KEY: owner is inactive';
      const first = await h.run({ taskWriter: async () => writer });
      expect(first.status).toBe('success');
      expect(first.counts.tasks).toBe(0);
      expect(first.tasksFailed).toBe(5);
      expect(h.logs.filter((l) => l.level === 'warn')).toContainEqual({
        level: 'warn',
        tasksFailed: 5,
        msg: '5 tasks were not created; the next run sends them again',
      });
      writer.refuse = undefined;
      // A plan does not look for them: it lists the tasks of the rows it would send (none).
      const plan = await h.run({ dryRun: true, taskWriter: async () => writer });
      expect(plan.counts.tasks).toBe(0);
      expect(plan.plan).not.toHaveProperty('tasks');
      writer.calls = 0;
      const callsBefore = h.dest.calls;
      const second = await h.run({ taskWriter: async () => writer });
      expect(second.counts).toMatchObject({ added: 0, changed: 0, tasks: 5 });
      expect(second.tasksFailed).toBeUndefined();
      expect(writer.tasks.size).toBe(5);
      expect(h.dest.calls).toBe(callsBefore);
      expect(writer.calls).toBeGreaterThan(0);
      expect(second.apiCalls).toBe(writer.calls);
    });

    // Killed: the router's `timeZone: sync.timezone ?? scheduler?.timezone ?? 'UTC'` → `(…) && 'UTC'` (Stryker
    // survivor: every task then dated in UTC). At 09:00 UTC it is still the day before in Honolulu.
    it("dates tasks in the sync's time zone, else the scheduler's", async () => {
      for (const config of [
        runnerConfig({ extra: ROUTING + '    timezone: Pacific/Honolulu\n' }),
        runnerConfig({ extra: ROUTING, top: 'scheduler: { timezone: Pacific/Honolulu }\n' }),
      ]) {
        h = await startRunnerHarness({ config });
        const writer = new MemoryTaskWriter();
        expect((await h.run({ taskWriter: async () => writer })).counts.tasks).toBe(5);
        expect([...writer.tasks.keys()]).toContain('pqlsync:Lead:10:hot:2026-03-01');
        await h.close();
      }
      h = await startRunnerHarness();
    });

    // Killed: tierOf's `if (sync.routing) return tierOfRow(…)` → `false` (the model's `tier` column, 'cold'/'hot',
    // is then read instead of the score bands: key 7, pql by its score, is never seen entering pql).
    it("tiers entered follow the routing's score bands when the sync routes", async () => {
      h = await startRunnerHarness({ config: runnerConfig({ extra: ROUTING }) });
      const entered: string[] = [];
      const s = await h.run({
        taskWriter: async () => new MemoryTaskWriter(),
        tierWatch: { tier: 'pql', onEnter: (changes) => entered.push(...keysOf(changes)) },
      });
      expect(s.status).toBe('success');
      expect(entered.sort((a, b) => Number(a) - Number(b))).toEqual(['6', '7', '8', '9']);
    });
  });

  describe('tiers entered (tierWatch)', () => {
    // Killed: tierEntered's applied filter (`o.status === 'applied'` → `true`: key 11, rejected, is then
    // reported), the snapshot look-up (`already.has(c.key)` → `false`: key 12, hot before and after, reported
    // again) and `tierOf(…) === tier` → `true`; tierOf's `['pql_tier', 'pqa_tier', 'tier']` list emptied and
    // `v === null || v === undefined ? null : String(v)` → `String(v)` are seen as no key entering at all;
    // `if (entered.length > 0)` → `true` with the empty calls checked.
    it('reports applied changes whose tier became the watched one in this run, once', async () => {
      h = await startRunnerHarness({ rows: 20 });
      h.dest.batchSize = 5;
      h.dest.rejectKeys.set('11', 'INVALID_EMAIL_ADDRESS: bad email');
      const calls: string[][] = [];
      const watch = { tier: 'hot', onEnter: (changes: Change[]) => calls.push(keysOf(changes)) };
      // Scores (i * 7) % 100: 10-14 are hot (70, 77, 84, 91, 98).
      expect((await h.run({ tierWatch: watch })).counts).toMatchObject({ applied: 19, rejected: 1 });
      expect(calls.every((c) => c.length > 0)).toBe(true);
      expect(calls.flat().sort((a, b) => Number(a) - Number(b))).toEqual(['10', '12', '13', '14']);

      calls.length = 0;
      h.dest.rejectKeys.clear();
      await h.wh.query('update src.users set score = 78 where user_id = 12'); // hot before and after
      await h.wh.query('update src.users set score = 90 where user_id = 1'); // enters hot
      await h.wh.query('update src.users set score = 10 where user_id = 13'); // leaves hot
      const second = await h.run({ tierWatch: watch });
      expect(second.counts).toMatchObject({ changed: 3, retried: 1, applied: 4 });
      expect(calls.flat().sort((a, b) => Number(a) - Number(b))).toEqual(['1', '11']);
    });
  });

  describe("the snapshot's tier", () => {
    const tiers = async () =>
      (
        await h.wh.query(
          `select key, tier from pqlsync_state.users__snapshot where key in ('2', '10') order by key`,
        )
      ).rows;

    // Killed: tierOf's `v === null || v === undefined ? null : String(v)` → `String(v)` (the text 'null' is then
    // stored for key 2, 'undefined' for a model without a tier column), and either test → `false`.
    it("is the model's tier column, none where it is null or the model has none", async () => {
      h = await startRunnerHarness();
      await h.wh.query('update src.users set score = null where user_id = 2');
      await h.run();
      expect(await tiers()).toEqual([
        { key: '10', tier: 'hot' },
        { key: '2', tier: null },
      ]);
      h.project.writeModel('scores', MODEL.replace(/, case when .* as tier\n/s, '\n'));
      await h.wh.query('update src.users set email = upper(email)'); // every row changed, stored again
      expect((await h.run()).counts).toMatchObject({ changed: 10, applied: 10 });
      expect(await tiers()).toEqual([
        { key: '10', tier: null },
        { key: '2', tier: null },
      ]);
    });

    // Killed: tierOf's column names 'pql_tier' and 'pqa_tier' emptied (the next column in the list is then read).
    it('prefers pql_tier, then pqa_tier, then tier', async () => {
      h = await startRunnerHarness();
      const model = (cols: string) => MODEL.replace(/ as tier\n/, ` as tier, ${cols}\n`);
      h.project.writeModel('scores', model(`'pqa-' || tier as pqa_tier`));
      await h.run();
      expect(await tiers()).toEqual([
        { key: '10', tier: 'pqa-hot' },
        { key: '2', tier: 'pqa-cold' },
      ]);
      h.project.writeModel('scores', model(`'pqa-' || tier as pqa_tier, 'pql-' || tier as pql_tier`));
      await h.wh.query('update src.users set email = upper(email)');
      await h.run();
      expect(await tiers()).toEqual([
        { key: '10', tier: 'pql-hot' },
        { key: '2', tier: 'pql-cold' },
      ]);
    });
  });

  describe('the lease', () => {
    // Killed: `now() - sinceBeat > (lease * 1000) / 3` → `>=` (a beat at 20 s and 40 s), `/ 3` → `* 3` (none),
    // `lease * 1000` → `lease / 1000` (one per batch), `if (…)` → `true`/`false`, and `sinceBeat = now()` dropped
    // (beats at 30, 40 and 50 s).
    /** Runs ten rows in batches of 2, each taking the CRM 10 s; answers the run clock's seconds at each renewal. */
    const beatsOf = async (): Promise<number[]> => {
      class Slow extends MemoryDestination {
        override async write(batch: WriteBatch) {
          h.clock.t += 10_000;
          return super.write(batch);
        }
      }
      const dest = new Slow();
      dest.batchSize = 2;
      const beats: number[] = [];
      h.faulty.add({
        method: 'query',
        match: /set heartbeat_at = /,
        before: () => void beats.push((h.clock.t - T0.getTime()) / 1000),
      });
      const s = await h.run({ destination: async () => dest });
      expect(s.status).toBe('success');
      expect(dest.batches).toBe(5);
      return beats;
    };

    it('is renewed once more than a third of it passed since the last renewal', async () => {
      h = await startRunnerHarness();
      // The batches commit at 10, 20, 30, 40 and 50 s; the default lease is 60 s.
      expect(await beatsOf()).toEqual([30]);
    });

    // Killed: run-context.ts `config.scheduler?.lock_lease_seconds ?? 60` → `60`.
    it('follows scheduler.lock_lease_seconds', async () => {
      h = await startRunnerHarness({
        config: runnerConfig({ top: 'scheduler: { lock_lease_seconds: 30 }\n' }),
      });
      expect(await beatsOf()).toEqual([20, 40]);
    });
  });

  describe('removals', () => {
    // Killed: `target.mode !== 'mirror' && plan.removed > 0` → `true && …` (a mirror sync would then forget its
    // removed rows before the CRM confirmed their removal: key 3's refused removal would not be tried again).
    it('a mirror removal the CRM refused stays in the snapshot and is sent again', async () => {
      h = await startRunnerHarness({
        config: runnerConfig({ mode: 'mirror', extra: '    max_removed_pct: 50\n' }),
      });
      expect((await h.run()).counts).toMatchObject({ added: 10, applied: 10 });
      await h.wh.query('delete from src.users where user_id = 3');
      h.dest.rejectKeys.set('3', 'ENTITY_IS_LOCKED: the record is locked');
      const refused = await h.run();
      expect(refused.counts).toMatchObject({ removed: 1, rejected: 1 });
      expect(await h.keys('snapshot')).toContain('3');
      h.dest.rejectKeys.clear();
      h.dest.written.length = 0;
      const again = await h.run();
      expect(again.counts).toMatchObject({ removed: 1, applied: 1 });
      expect(h.dest.written).toEqual([{ key: '3', kind: 'removed' }]);
      expect(await h.keys('snapshot')).not.toContain('3');
    });

    // Killed: the `forgetRemoved` call dropped, and `plan.removed > 0` → `false`.
    it('an upsert sync forgets rows the model no longer returns, without sending them', async () => {
      h = await startRunnerHarness();
      await h.run();
      await h.wh.query('delete from src.users where user_id in (2, 4)');
      h.dest.written.length = 0;
      const s = await h.run();
      expect(s.counts).toMatchObject({ removed: 2, applied: 0 });
      expect(h.dest.written).toEqual([]);
      expect(await h.keys('snapshot')).toEqual(['1', '3', '5', '6', '7', '8', '9', '10']);
      // Back in the model: sent again as added.
      await h.wh.query(`insert into src.users values (2, 'u2@example.com', 14)`);
      expect((await h.run()).counts).toMatchObject({ added: 1, applied: 1 });
    });
  });

  describe('progress, phases and retries', () => {
    // Killed: `onProgress: (done) => options.onProgress?.(done, toSend)` emptied; the stream phase's
    // `{ stateRows: plan.snapshotRows }` → `{}`; `if (toSend === 0)` → `false` (an unchanged run then marks a
    // stream phase).
    it('reports progress against the planned total and marks the stream phase with the snapshot size', async () => {
      h = await startRunnerHarness();
      h.dest.batchSize = 5;
      await h.run();
      await h.wh.query('update src.users set score = score + 1 where user_id <= 6');
      h.phases.length = 0;
      const progress: [number, number][] = [];
      const s = await h.run({ onProgress: (done, total) => progress.push([done, total]) });
      expect(s.counts).toMatchObject({ changed: 6, applied: 6 });
      expect(progress).toEqual([
        [5, 6],
        [6, 6],
      ]);
      expect(h.phases).toEqual([
        'plan',
        'stream(10)',
        'end plan',
        'fold(16)',
        'end stream',
        'plan',
        'end fold',
        'end plan',
      ]);
      h.phases.length = 0;
      expect((await h.run()).counts).toMatchObject({ changed: 0, applied: 0 });
      expect(h.phases).toEqual(['plan', 'plan', 'end plan', 'end plan']);
    });

    // Killed: retryFromConfig's `'retry' in dest` → `false` and its policy `{ maxAttempts: … }` → `{}`, either
    // way the default policy (5 attempts) then succeeds on the second try.
    it("uses the destination's retry config when the run gives none", async () => {
      const crm = `crm: { type: salesforce, instance_url: 'https://crm.example.invalid', auth: { type: access_token, access_token: t }, retry: { max_attempts: 1, initial_delay_ms: 1, max_delay_ms: 1 } }`;
      h = await startRunnerHarness({
        config: runnerConfig().replace('crm: { type: file, path: out }', crm),
      });
      h.dest.flakyKeys.set('4', 1);
      const s = await h.run({ retry: undefined });
      expect(s.status).toBe('partial');
      expect(s.counts).toMatchObject({ applied: 9, rejected: 1 });
      expect(await h.keys('failures')).toEqual(['4']);
    });
  });

  // Killed: retryFromConfig's `r ? … : undefined` → `true` (a destination without `retry` then fails the run).
  it('retries with the default policy when neither the run nor the destination sets one', async () => {
    h = await startRunnerHarness();
    h.dest.flakyKeys.set('4', 1);
    const s = await h.run({ retry: undefined });
    expect(s.status).toBe('success');
    expect(s.counts).toMatchObject({ applied: 10, rejected: 0 });
  });

  describe('shutdowns', () => {
    /** The first batch answers applied, applied, rejected, retryable, skipped by position; the rest as usual. */
    class Mixed extends MemoryDestination {
      override async write(batch: WriteBatch): Promise<RecordOutcome[]> {
        const outcomes = await super.write(batch);
        if (this.batches > 1) return outcomes;
        return outcomes.map((o, i): RecordOutcome => {
          if (i === 2) return { key: o.key, status: 'rejected', reason: 'INVALID_EMAIL_ADDRESS: bad email' };
          if (i === 3) return { key: o.key, status: 'retryable', reason: 'UNABLE_TO_LOCK_ROW' };
          if (i === 4) return { key: o.key, status: 'skipped', reason: 'converted', code: 'CONVERTED' };
          return o;
        });
      }
    }

    // Killed: the committed count's `+` → `-` (each of the four terms), `ctx.counts.rejected = result.rejected +
    // result.retryable` → `-`, `!stopError && result.aborted` → `false`, the RUN_ABORTED message emptied, `skipped
    // > 0` → `false` or `>= 0` (the skipped line missing or logged for none), and `result.skipped ?? 0` → `&& 0`.
    it('a graceful stop after the first batch fails the run, naming what was committed', async () => {
      h = await startRunnerHarness();
      const dest = new Mixed();
      dest.batchSize = 5;
      const stop = new AbortController();
      const s = await h.run({
        destination: async () => dest,
        retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
        signal: stop.signal,
        onProgress: () => stop.abort(),
      });
      expect(dest.batches).toBe(1);
      expect(s.status).toBe('failed');
      expect(s.counts).toMatchObject({ applied: 2, rejected: 2 });
      expect(s.error).toMatchObject({
        code: 'RUN_ABORTED',
        message:
          'sync users: stopped by shutdown after 5 of 10 records were written and committed; the rest is sent by the next run',
      });
      expect(
        h.logs.filter(
          (l) =>
            l.msg ===
            '1 records skipped: the CRM refuses them for good (converted Leads); kept in the snapshot, not failures',
        ),
      ).toEqual([expect.objectContaining({ level: 'info', skipped: 1 })]);
      expect(h.logs.some((l) => /records skipped/.test(String(l.msg)))).toBe(true);
    });

    it('a run without skipped records logs no skipped line', async () => {
      h = await startRunnerHarness();
      expect((await h.run()).status).toBe('success');
      expect(h.logs.filter((l) => /records skipped/.test(String(l.msg)))).toEqual([]);
    });

    // Killed: untilCancelled's `if (cancel.aborted) onAbort()` dropped (the preflight then resolves and the
    // writer reports a different stop), and its message emptied.
    it('a hard stop before the preflight answered fails the run before anything is written', async () => {
      h = await startRunnerHarness();
      const cancel = new AbortController();
      cancel.abort();
      const s = await h.run({ cancel: cancel.signal });
      expect(s.status).toBe('failed');
      expect(s.error?.message).toBe('sync users: stopped by shutdown before anything was written');
      expect(h.dest.calls).toBe(0);
    });

    // Killed: `...(options.cancel ? { cancel: options.cancel } : {})` → `{}` (the writer then waits for an answer
    // that never comes: a timeout).
    it('a hard stop while a batch is unanswered ends the run without committing it', async () => {
      h = await startRunnerHarness();
      const cancel = new AbortController();
      class Unanswered extends MemoryDestination {
        override write(): Promise<RecordOutcome[]> {
          this.calls++;
          cancel.abort();
          return new Promise<RecordOutcome[]>(() => undefined);
        }
      }
      const s = await h.run({ destination: async () => new Unanswered(), cancel: cancel.signal });
      expect(s.status).toBe('failed');
      expect(s.error?.code).toBe('RUN_ABORTED');
      expect(s.error?.message).toBe(
        'sync users: stopped by shutdown after 0 of 10 records were written and committed; the rest is sent by the next run',
      );
      expect(await h.keys('snapshot')).toEqual([]);
    });

    // Killed: the abort listener not added (`cancel.addEventListener` dropped): the run then waits for a
    // preflight that never answers (a timeout).
    it('a hard stop while the preflight hangs ends the run at once', async () => {
      h = await startRunnerHarness();
      const cancel = new AbortController();
      class Hanging extends MemoryDestination {
        override preflight(): Promise<void> {
          cancel.abort();
          return new Promise<void>(() => undefined);
        }
      }
      const s = await h.run({ destination: async () => new Hanging(), cancel: cancel.signal });
      expect(s.error?.message).toBe('sync users: stopped by shutdown before anything was written');
    });
  });
});
