/**
 * One run of one sync, in three steps: plan (compile, lock, fold what an earlier run left, diff in the warehouse;
 * plan-step.ts) → send (write batches, journal each acknowledged batch's outcomes, route; send-step.ts) → commit
 * (fold the run's journal into the snapshot and failures, write the run's end; commit-step.ts). Returns a
 * RunSummary and never throws: every failure becomes `status: failed` with the error, and the exit code follows
 * from it.
 */
import { toPqlsyncError } from '../errors/pqlsync-error.js';
import { keepUnrecordedRun } from '../state/unrecorded-runs.js';
import { commitStep } from './commit-step.js';
import { planStep } from './plan-step.js';
import { RunContext } from './run-context.js';
import type { RunSummary, RunSyncOptions } from './run-types.js';
import { previewStep, sendStep } from './send-step.js';

export { syncTarget } from './plan-step.js';
export {
  PLANNED_TASKS_LISTED,
  SUMMARY_STATUSES,
  type RunSummary,
  type RunSyncOptions,
  type SummaryStatus,
} from './run-types.js';

/**
 * The process exit code for a set of summaries (DESIGN.md): 2 invalid input wins over 1 a failed run, over
 * 4 a held lock, over 5 a sync the --after-dbt gate held back (an addition, see the README), over 3 rejected
 * records, over 0.
 */
export function exitCodeFor(summaries: readonly RunSummary[]): number {
  const codes: number[] = summaries.map((s) => {
    if (s.status === 'partial') return 3;
    if (s.status !== 'failed') return 0;
    if (s.error?.code === 'STATE_LOCK_HELD') return 4;
    // Held back by the --after-dbt gate: a retry fails the same way until dbt runs again.
    if (s.error?.code === 'DBT_UPSTREAM_FAILED') return 5;
    return s.error?.kind === 'config' ? 2 : 1;
  });
  for (const c of [2, 1, 4, 5, 3]) if (codes.includes(c)) return c;
  return 0;
}

export async function runSync(options: RunSyncOptions): Promise<RunSummary> {
  const ctx = new RunContext(options);
  const { log, store } = ctx;
  try {
    const planned = await planStep(ctx);
    if (ctx.dry) return ctx.summary('planned', undefined, await previewStep(ctx, planned));
    ctx.stopError = await sendStep(ctx, planned);
    const status = await commitStep(ctx, planned, ctx.stopError);
    if (ctx.tasksFailed > 0) {
      log.warn(
        { tasksFailed: ctx.tasksFailed },
        `${ctx.tasksFailed} tasks were not created; the next run sends them again`,
      );
    }
    log.info(
      { status, applied: ctx.counts.applied, rejected: ctx.counts.rejected, apiCalls: ctx.apiCalls },
      'run finished',
    );
    return ctx.summary(status, ctx.stopError);
  } catch (err) {
    const thrown = toPqlsyncError(err);
    // A state write that failed after the writes stopped for a reason: that reason is the run's story.
    const e = ctx.stopError ?? thrown;
    // Whatever was opened: the destination, or only the task writer (a run can fail between the two).
    ctx.countApiCalls();
    if (ctx.runStarted) {
      const durationMs = ctx.elapsedMs();
      try {
        // Not again when writing the end itself was what failed: keep it locally at once.
        if (ctx.finishing) throw thrown;
        await store.finishRun(ctx.runId, 'failed', ctx.counts, ctx.apiCalls, durationMs, e.format());
      } catch (finishErr) {
        const kept = keepUnrecordedRun(options.loaded.configPath, {
          runId: ctx.runId,
          sync: ctx.name,
          stateSchema: store.schema,
          error: e.format(),
          counts: { ...ctx.counts },
          apiCalls: ctx.apiCalls,
          durationMs,
          finishedAt: ctx.now().toISOString(),
        });
        log.error(
          { err: toPqlsyncError(finishErr).message, runError: e.format(), keptIn: kept ?? null },
          kept
            ? `could not record the failed run in the state tables; its error is kept in ${kept} and the next run of ${ctx.name} writes it into the runs row`
            : 'could not record the failed run in the state tables, nor in a local file; its error is only in this log',
        );
      }
    }
    if (e !== thrown) log.error({ code: thrown.code, err: thrown.message }, 'writing state failed as well');
    log.error({ code: e.code, err: e.message }, 'run failed');
    return ctx.summary('failed', e);
  } finally {
    await cleanUp(ctx);
  }
}

/** Whatever happened: the warehouse's memory back, the task writer closed, working tables dropped, the lock released. */
async function cleanUp(ctx: RunContext): Promise<void> {
  const { log, store } = ctx;
  try {
    await ctx.leavePhase();
  } catch (err) {
    log.warn({ err: toPqlsyncError(err).message }, 'could not restore the warehouse memory limit');
  }
  if (ctx.taskWriter) {
    try {
      await ctx.taskWriter.close();
    } catch (err) {
      log.warn({ err: toPqlsyncError(err).message }, 'could not close the task writer');
    }
  }
  if (ctx.workTables.length > 0) {
    try {
      await store.dropWorkTables(ctx.workTables);
    } catch (err) {
      log.warn({ err: toPqlsyncError(err).message }, 'could not drop the working tables');
    }
  }
  if (ctx.lockTaken) {
    try {
      await store.releaseLock(ctx.name, ctx.runId);
    } catch (err) {
      log.error(
        { err: toPqlsyncError(err).message },
        'could not release the lock; it expires with its lease',
      );
    }
  }
}
