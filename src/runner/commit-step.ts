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
    // The changes are sent: the fold (a MERGE of the whole journal, one row per change) and the prune (a join of
    // the whole plan and snapshot) are bulk statements like the plan, so they run under memory_limit, as the plan
    // did. Under the stream's limit a 1M-row first sync's fold failed at 32MB ("failed to pin block").
    await ctx.enterPhase('plan');
    await foldJournal(store, name);
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
