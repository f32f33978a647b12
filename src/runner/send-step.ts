/**
 * A run's second step: send the planned changes to the destination in batches and journal each acknowledged
 * batch's outcomes (outcome-journal.ts), with the routing tasks of the tiers they entered; or, in a plan, only the
 * destination's read-only preflight and the tasks that would be created.
 *
 * Per batch, in this order: the lease is renewed (a run that lost its lock stops here), the batch's tasks are
 * written to task_log as pending, its outcomes are appended to the journal, then the tasks go to the CRM. The
 * snapshot is not written here: the commit step folds the journal once.
 */
import type { DestinationConfig, SyncConfig } from '../config/config-schema.js';
import { writeChanges, type RetryPolicy } from '../destination/batch-writer.js';
import { createTaskWriter } from '../destination/create-task-writer.js';
import type { Change, RecordOutcome } from '../destination/destination.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { streamChanges } from '../plan/plan-sync.js';
import { hasOutstandingTasks, Router, type PlannedTask } from '../routing/router.js';
import { tierOfRow } from '../routing/tiers.js';
import { journalOutcomes } from '../state/outcome-journal.js';
import type { StateStore } from '../state/state-store.js';
import { queryByList } from '../warehouse/sql-dialect.js';
import type { PlannedRun } from './plan-step.js';
import type { RunContext } from './run-context.js';
import { PLANNED_TASKS_LISTED, type RunSummary } from './run-types.js';

/**
 * Starts the router when the sync routes and there is something to route: changes to send, or (in a run) tasks of
 * earlier runs the CRM refused or a crash left unsent, which are sent again even when no row changed.
 */
async function startRouter(ctx: RunContext, planned: PlannedRun): Promise<Router | undefined> {
  const { options, name, store, dry } = ctx;
  const routing = planned.sync.routing;
  if (!routing) return undefined;
  const outstanding =
    !dry && planned.toSend === 0 ? await hasOutstandingTasks(store, name, routing, ctx.now()) : false;
  if (planned.toSend === 0 && !outstanding) return undefined;
  const { config } = options.loaded;
  ctx.taskWriter = await (options.taskWriter ?? ((d) => createTaskWriter(d, options.loaded)))(
    planned.sync.destination,
  );
  const router = new Router({
    sync: name,
    destination: planned.sync.destination,
    routing,
    target: planned.target,
    state: store,
    writer: ctx.taskWriter,
    runId: ctx.runId,
    now: ctx.now,
    timeZone: planned.sync.timezone ?? config.scheduler?.timezone ?? 'UTC',
    planTable: planned.plan.planTable,
    dryRun: dry,
    log: ctx.log,
  });
  await router.start();
  return router;
}

/**
 * A plan's look at the send: the destination's read-only preflight (what would fail the run, an object the CRM
 * does not have or a missing field, fails the plan the same way, exit 2; nothing is created or written) and the
 * routing tasks the run would create.
 */
export async function previewStep(
  ctx: RunContext,
  planned: PlannedRun,
): Promise<NonNullable<RunSummary['plan']>> {
  const { options, store } = ctx;
  const router = await startRouter(ctx, planned);
  ctx.destination = await options.destination(planned.sync.destination);
  ctx.callsBefore = ctx.destination.apiCalls();
  await untilCancelled(
    ctx.destination.preflight(planned.target, { readOnly: true }),
    options.cancel,
    ctx.name,
  );
  if (!router) {
    ctx.apiCalls = ctx.destination.apiCalls() - ctx.callsBefore;
    return planned.planInfo;
  }
  const tasks: PlannedTask[] = [];
  const { target, plan, kinds, toSend } = planned;
  for await (const chunk of streamChanges(store, target, plan.planTable, kinds, toSend)) {
    const routed = await router.route(chunk, []);
    ctx.counts.tasks += routed.planned.length;
    tasks.push(...routed.planned.slice(0, Math.max(0, PLANNED_TASKS_LISTED - tasks.length)));
  }
  ctx.countApiCalls();
  return { ...planned.planInfo, tasks };
}

/**
 * Sends the planned changes and journals each acknowledged batch. Returns the error that stopped the writes, if
 * any (a stop by the CRM, a lost lock, a shutdown); what was acknowledged before it is journaled either way.
 */
export async function sendStep(ctx: RunContext, planned: PlannedRun): Promise<PqlsyncError | undefined> {
  const { options, name, store, runId, now, lease } = ctx;
  const { target, plan, kinds, toSend, sync } = planned;
  const router = await startRouter(ctx, planned);
  if (router) ctx.countTasks(await router.resumeOutstanding());
  if (target.mode !== 'mirror' && plan.removed > 0) await store.forgetRemoved(name, plan.planTable);
  if (toSend === 0) {
    ctx.countApiCalls();
    return undefined;
  }
  // From here the warehouse only streams the plan out and appends to the journal, for as long as the destination
  // takes.
  await ctx.enterPhase('stream', { stateRows: plan.snapshotRows });
  const destination = await options.destination(sync.destination);
  ctx.destination = destination;
  ctx.callsBefore = destination.apiCalls();
  await untilCancelled(destination.preflight(target), options.cancel, name);
  let sinceBeat = now().getTime();
  let batchNo = 0;
  const tierWatch = options.tierWatch;
  const result = await writeChanges(streamChanges(store, target, plan.planTable, kinds, toSend), {
    destination,
    target,
    capabilities: destination.capabilities(target, toSend),
    retry: options.retry ?? retryFromConfig(options.loaded.config.destinations[sync.destination]),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.cancel ? { cancel: options.cancel } : {}),
    commit: async (changes: Change[], outcomes) => {
      const entered = tierWatch
        ? await tierEntered(store, name, changes, outcomes, tierWatch.tier, sync)
        : [];
      // The lease first: a run that lost its lock (STATE_LOCK_HELD) writes no more state and sends no more.
      if (now().getTime() - sinceBeat > (lease * 1000) / 3) {
        await store.heartbeat(name, runId, lease);
        sinceBeat = now().getTime();
      }
      const routed = router ? await router.prepare(changes, outcomes) : undefined;
      await journalOutcomes(store, {
        sync: name,
        runId,
        batchNo: ++batchNo,
        changes,
        outcomes,
        tierOf: (c) => tierOf(c, sync, name),
        at: now(),
      });
      // Tasks go to the CRM after the records are journaled: a refused task never holds them back.
      if (router && routed) {
        const sent = await router.send(routed);
        ctx.countTasks(sent);
        if (sent.alerts.length > 0) tierWatch?.onRouted?.(sent.alerts);
      }
      if (entered.length > 0) tierWatch?.onEnter(entered);
    },
    onProgress: (done) => options.onProgress?.(done, toSend),
  });
  ctx.counts.applied = result.applied;
  ctx.counts.rejected = result.rejected + result.retryable;
  const skipped = result.skipped ?? 0;
  if (skipped > 0)
    ctx.log.info(
      { skipped },
      `${skipped} records skipped: the CRM refuses them for good (converted Leads); kept in the snapshot, not failures`,
    );
  let stopError = result.stopError;
  if (!stopError && result.aborted) {
    const committed = result.applied + result.rejected + result.retryable + skipped;
    stopError = new PqlsyncError(
      'RUN_ABORTED',
      `stopped by shutdown after ${committed} of ${toSend} records were written and committed; the rest is sent by the next run`,
      { location: { sync: name } },
    );
  }
  ctx.countApiCalls();
  return stopError;
}

/**
 * Applied changes whose tier is `tier` now and was not in the snapshot before this run (a key is sent once per
 * run, and the snapshot changes only when the run's journal is folded).
 */
async function tierEntered(
  store: StateStore,
  sync: string,
  changes: readonly Change[],
  outcomes: readonly RecordOutcome[],
  tier: string,
  config: SyncConfig,
): Promise<Change[]> {
  const applied = new Set(outcomes.filter((o) => o.status === 'applied').map((o) => o.key));
  const now = changes.filter(
    (c) => c.kind !== 'removed' && applied.has(c.key) && tierOf(c, config, sync) === tier,
  );
  if (now.length === 0) return [];
  const keys = now.map((c) => c.key);
  const rows = await queryByList(
    store.wh,
    store.d,
    keys,
    (b, list) =>
      `select key from ${store.snapshotTable(sync)} where tier = ${b.param(tier, 'string')} and ${store.d.inList('key', b, list)}`,
  );
  const already = new Set(rows.map((r) => String(r.key)));
  return now.filter((c) => !already.has(c.key));
}

/** The tier stored in the snapshot: the model's tier column when the sync maps one. */
function tierOf(change: Change, sync: SyncConfig, name: string): string | null {
  const row = change.row;
  if (!row) return null;
  if (sync.routing) return tierOfRow(row, sync.routing, name);
  const col = ['pql_tier', 'pqa_tier', 'tier'].find((c) => c in row) as string | undefined;
  const v = col ? row[col] : undefined;
  return v === null || v === undefined ? null : String(v);
}

/** `work`, unless `cancel` aborts first: then RUN_ABORTED (the work's late answer is ignored). */
function untilCancelled<T>(work: Promise<T>, cancel: AbortSignal | undefined, sync: string): Promise<T> {
  if (!cancel) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new PqlsyncError('RUN_ABORTED', 'stopped by shutdown before anything was written', {
          location: { sync },
        }),
      );
    if (cancel.aborted) onAbort();
    cancel.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => cancel.removeEventListener('abort', onAbort));
  });
}

function retryFromConfig(dest: DestinationConfig | undefined): Partial<RetryPolicy> | undefined {
  const r = dest && 'retry' in dest ? dest.retry : undefined;
  return r
    ? { maxAttempts: r.max_attempts, initialDelayMs: r.initial_delay_ms, maxDelayMs: r.max_delay_ms }
    : undefined;
}
