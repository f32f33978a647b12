/**
 * A run's last step: fold the run's outcome journal into the snapshot and failures (one MERGE per table where the
 * warehouse has one; outcome-journal.ts), drop failures with nothing left to retry, and write the run's end.
 * A run that lost its lock leaves state, and its journal, to the run that holds it.
 */
import type { PqlsyncError } from '../errors/pqlsync-error.js';
import { foldJournal } from '../state/outcome-journal.js';
import type { RunStatus } from '../state/state-store.js';
import type { PlannedRun } from './plan-step.js';
import type { RunContext } from './run-context.js';

export async function commitStep(
  ctx: RunContext,
  planned: PlannedRun,
  stopError: PqlsyncError | undefined,
): Promise<Extract<RunStatus, 'success' | 'partial' | 'failed'>> {
  const { store, name, counts } = ctx;
  if (stopError?.code !== 'STATE_LOCK_HELD') {
    // The fold still under the stream's memory (DuckDB spills the MERGE rather than holding a 1M-row first sync's
    // hash tables in the process); pruning joins the whole plan and snapshot again, as the plan did: the plan's.
    await foldJournal(store, name);
    await ctx.enterPhase('plan');
    await store.pruneResolvedFailures(name, planned.plan.planTable);
  }
  const status = stopError ? 'failed' : counts.rejected > 0 ? 'partial' : 'success';
  ctx.finishing = true;
  await store.finishRun(
    ctx.runId,
    status,
    counts,
    ctx.apiCalls,
    ctx.elapsedMs(),
    stopError?.format() ?? null,
  );
  ctx.runStarted = false;
  return status;
}
