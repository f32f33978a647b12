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
    // The changes are sent. The fold (one MERGE of every change sent) is not held to the stream's limit, which is
    // sized for a batch (under 32MB a 1M-row first sync's fold failed: "failed to pin block"), nor given all of
    // memory_limit, where DuckDB spreads out (see FOLD_MIN_BYTES); its deletes get room as the stream's did. The
    // prune joins the whole plan and snapshot again, as the plan did: under memory_limit.
    if (planned.toSend > 0)
      await ctx.enterPhase('fold', { stateRows: planned.plan.snapshotRows + planned.toSend });
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
