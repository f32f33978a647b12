/**
 * One run of one sync: compile → plan (in the warehouse) → route → write → commit. Returns a RunSummary and
 * never throws: every failure becomes `status: failed` with the error, and the exit code follows from it.
 */
import { randomUUID } from 'node:crypto';
import type { DestinationConfig, SyncConfig } from '../config/config-schema.js';
import type { LoadedConfig } from '../config/load-config.js';
import { writeChanges, type RetryPolicy } from '../destination/batch-writer.js';
import type {
  Change,
  Destination,
  FieldSpec,
  RecordOutcome,
  SyncTarget,
} from '../destination/destination.js';
import { PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import { compileModel } from '../model/compile-model.js';
import { displayPath, loadModel } from '../model/model-file.js';
import { planSync, probeModel, streamChanges, type PlanSummary } from '../plan/plan-sync.js';
import { resolveSyncColumns } from '../plan/resolve-columns.js';
import type { RejectionGroup } from '../state/failure-report.js';
import { hasOutstandingTasks, Router, type PlannedTask } from '../routing/router.js';
import type { TaskWriter } from '../routing/task-writer.js';
import { modelScoreBands, tierOfRow } from '../routing/tiers.js';
import { createTaskWriter } from '../destination/create-task-writer.js';
import { checkMappingSignature, mappingSignature } from '../state/mapping-signature.js';
import { guardFlagRate, type FlagRateReport } from './flag-rate.js';
import { StateStore, ZERO_COUNTS, type RunCounts, type RunStatus } from '../state/state-store.js';
import { keepUnrecordedRun, settleUnrecordedRuns } from '../state/unrecorded-runs.js';
import { logger } from '../util/logger.js';
import { queryByList } from '../warehouse/sql-dialect.js';
import type { PhaseScope, WarehouseAdapter, WarehousePhase } from '../warehouse/warehouse-adapter.js';

export const SUMMARY_STATUSES = ['success', 'partial', 'failed', 'planned'] as const;
export type SummaryStatus = (typeof SUMMARY_STATUSES)[number];

/** The JSON summary of one sync's run or plan (DESIGN.md, "CLI contract"). */
export interface RunSummary {
  sync: string;
  runId: string;
  status: SummaryStatus;
  counts: RunCounts;
  /** Routing tasks the CRM refused in this run (in task_log as `failed` with the reason; sent again next run). */
  tasksFailed?: number;
  apiCalls: number;
  durationMs: number;
  error?: { code: string; message: string; kind: string; location?: unknown; hint?: string };
  /**
   * When the run rejected records: its failures grouped by reason, largest first (count, sample keys, the CRM's
   * message). `pqlsync failures <sync>` lists them all.
   */
  rejections?: RejectionGroup[];
  /** The share of the model's rows in each tier and the flag rate, against max_flag_rate (flag-rate.ts). */
  flagRate?: FlagRateReport;
  /** Plan only: what would happen (invalid row samples, destination object). */
  plan?: {
    modelRows: number;
    validRows: number;
    invalid: PlanSummary['invalid'];
    snapshotRows: number;
    destination: string;
    object: string;
    mode: string;
    /** Bytes the model would scan, from the warehouse's dry run (BigQuery); absent where the engine cannot say. */
    estimatedBytes?: number;
    /** Routing: the tasks this run would create (at most PLANNED_TASKS_LISTED; `counts.tasks` has them all). */
    tasks?: PlannedTask[];
  };
}

/** Tasks listed in a plan summary; the count covers the rest. */
export const PLANNED_TASKS_LISTED = 200;

export interface RunSyncOptions {
  loaded: LoadedConfig;
  warehouse: WarehouseAdapter;
  syncName: string;
  /** Builds (or returns a cached) destination by name. */
  destination: (name: string) => Promise<Destination>;
  /** `--vars`: override model params. */
  vars?: Record<string, unknown>;
  /** Plan only: write nothing, send nothing. */
  dryRun?: boolean;
  /** Mirror guard override. */
  allowMassRemoval?: boolean;
  /**
   * Accept a changed mapping (destination, object, match field or column): forget the sync's snapshot and
   * failures and send every row in full under the new mapping. Without it such a run is refused. (Default: false)
   */
  rematch?: boolean;
  /** Retry policy for the batch writer. (Default: the destination's `retry` config, else DEFAULT_RETRY) */
  retry?: Partial<RetryPolicy>;
  now?: () => Date;
  onProgress?: (done: number, total: number) => void;
  /**
   * Graceful stop: once aborted, a run that has not started does not start, and a running one stops dispatching
   * batches, lets the batch in flight finish and commit, and ends `failed` with RUN_ABORTED. (Default: none)
   */
  signal?: AbortSignal;
  /**
   * Hard stop (the grace period after a stop signal is over): the run stops waiting for the CRM; batches whose
   * answer has not come are not committed (the next run sends them again), and the run ends `failed` with
   * RUN_ABORTED. (Default: none)
   */
  cancel?: AbortSignal;
  /**
   * Called with the compiled model before anything is locked or written; a returned text skips the run with that
   * reason (the `--after-dbt` gate). (Default: none)
   */
  gate?: (info: { sync: string; model: string; sql: string }) => string | undefined;
  /**
   * Called once per committed batch with the applied changes whose tier became `tier` in this run (new hot PQLs
   * for alerts). (Default: none)
   */
  tierWatch?: {
    tier: string;
    onEnter: (changes: Change[]) => void;
    /** Called with the new tasks of routing rules with `alert: true` (e.g. enterprise accounts). */
    onRouted?: (tasks: PlannedTask[]) => void;
  };
  /**
   * Builds the CRM task writer for a destination name, for syncs with routing. (Default: createTaskWriter from
   * the destination's config; undefined for destinations without tasks)
   */
  taskWriter?: (destination: string) => Promise<TaskWriter | undefined>;
}

/** Adapters that key result rows by lower-cased column names (so a lower-case config name always read right). */
const ROW_KEYS_LOWER_CASE: ReadonlySet<string> = new Set(['bigquery', 'snowflake']);

/** Builds the destination-side view of a sync from its config. */
export function syncTarget(name: string, sync: SyncConfig, keyColumn: string): SyncTarget {
  const fields: FieldSpec[] = Object.entries(sync.fields).map(([field, m]) =>
    typeof m === 'string'
      ? { field, column: m, skipNull: false, clearedValue: null }
      : { field, column: m.column, skipNull: m.skip_null, clearedValue: m.cleared_value ?? null },
  );
  return {
    sync: name,
    object: sync.object,
    matchField: sync.match.field,
    matchColumn: sync.match.column ?? keyColumn,
    mode: sync.mode,
    fields,
    onRemove: sync.on_remove ?? {},
  };
}

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
  const now = options.now ?? (() => new Date());
  const started = now();
  const runId = randomUUID();
  const name = options.syncName;
  const log = logger().child({ sync: name, runId });
  const counts: RunCounts = { ...ZERO_COUNTS };
  let tasksFailed = 0;
  const countTasks = (routed: { created: number; failed: number }) => {
    counts.tasks += routed.created;
    tasksFailed += routed.failed;
  };
  let apiCalls = 0;
  let runStarted = false;
  let lockTaken = false;
  let store: StateStore | undefined;
  const { config, modelsDir } = options.loaded;
  const dry = options.dryRun ?? false;
  const lease = config.scheduler?.lock_lease_seconds ?? 60;
  let flagRate: FlagRateReport | undefined;

  const summary = (status: SummaryStatus, err?: PqlsyncError, plan?: RunSummary['plan']): RunSummary => ({
    sync: name,
    runId,
    status,
    counts: { ...counts },
    ...(tasksFailed > 0 ? { tasksFailed } : {}),
    apiCalls,
    durationMs: now().getTime() - started.getTime(),
    ...(err
      ? {
          error: {
            code: err.code,
            kind: err.kind,
            message: err.format(),
            ...(Object.keys(err.location).length > 0 ? { location: err.location } : {}),
            ...(err.hint ? { hint: err.hint } : {}),
          },
        }
      : {}),
    ...(flagRate ? { flagRate } : {}),
    ...(plan ? { plan } : {}),
  });

  /** The error that stopped the writes; the run's story even when writing state fails after it. */
  let stopError: PqlsyncError | undefined;
  /** True once the run's own end is being written. */
  let finishing = false;
  let destination: Destination | undefined;
  let callsBefore = 0;
  let taskWriter: TaskWriter | undefined;
  let workTables: string[] = [];
  let endPhase: (() => Promise<void>) | undefined;
  /** Marks what the warehouse does from now on (see WarehouseAdapter.phase), ending the mark before it. */
  const enterPhase = async (kind: WarehousePhase, scope?: PhaseScope) => {
    const previous = endPhase;
    endPhase = await options.warehouse.phase?.(kind, scope);
    await previous?.();
  };
  try {
    let sync = config.syncs[name];
    if (!sync) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `no sync named '${name}' in the config (syncs: ${Object.keys(config.syncs).join(', ') || 'none'})`,
      );
    }
    const model = await loadModel(modelsDir, sync.model, options.warehouse.dialect);
    const compiled = compileModel(model, {
      dialect: options.warehouse.dialect,
      configParams: sync.params,
      ...(options.vars ? { vars: options.vars } : {}),
    });
    if (sync.routing)
      sync = { ...sync, routing: modelScoreBands(sync.routing, compiled.values, name, model.name) };
    const configTarget = syncTarget(name, sync, model.key);
    store = new StateStore(options.warehouse, config.state.schema, now);
    const blocked = options.gate?.({ sync: name, model: sync.model, sql: compiled.sql });
    if (blocked !== undefined) {
      throw new PqlsyncError('DBT_UPSTREAM_FAILED', `not run: ${blocked}`, { location: { sync: name } });
    }
    if (options.signal?.aborted) {
      throw new PqlsyncError('RUN_ABORTED', 'not run: pqlsync is shutting down', {
        location: { sync: name },
      });
    }

    // Every column the config names, resolved against the model's real output columns before anything is written.
    const planOptions = {
      store,
      target: configTarget,
      model: compiled,
      keyColumn: model.key,
      modelFile: model.bodyPath,
      configFile: displayPath(options.loaded.configPath),
      ...(sync.max_attempts !== undefined ? { maxAttempts: sync.max_attempts } : {}),
      dryRun: dry,
    };
    const probe = await probeModel(planOptions);
    const resolved = resolveSyncColumns({
      target: configTarget,
      keyColumn: model.key,
      routing: sync.routing,
      columns: probe.columns,
      ctx: { sync: name, modelFile: model.bodyPath, configFile: planOptions.configFile },
      rowKeysLowerCase: ROW_KEYS_LOWER_CASE.has(options.warehouse.dialect),
    });
    const target = resolved.target;
    const syncR: SyncConfig = { ...sync, ...(resolved.routing ? { routing: resolved.routing } : {}) };

    if (!dry) {
      await store.ensureStateTables();
      await store.acquireLock(name, runId, lease);
      lockTaken = true;
      await settleKeptRuns(store, options.loaded.configPath, name, log);
      await store.startRun({ runId, sync: name, startedAt: started, modelHash: model.hash });
      runStarted = true;
      await store.ensureSyncTables(name);
    }
    const { rematched } = await checkMappingSignature(store, {
      sync: name,
      current: mappingSignature(configTarget, sync.destination, config.destinations[sync.destination]),
      runId,
      rematch: options.rematch ?? false,
      dryRun: dry,
      configFile: displayPath(options.loaded.configPath),
      now: started,
      configured: Object.keys(config.syncs),
    });
    if (rematched) log.warn({}, 'the mapping changed: --rematch forgot the snapshot and failures');

    await enterPhase('plan');
    const plan = await planSync({
      ...planOptions,
      target,
      keyColumn: resolved.keyColumn,
      probe,
      hashTarget: configTarget,
      resendAll: resolved.misread,
      fresh: dry && rematched,
    });
    workTables = plan.workTables;
    counts.added = plan.added;
    counts.changed = plan.changed;
    counts.removed = plan.removed;
    counts.invalid = plan.invalid.nullKeys + plan.invalid.duplicateKeyRows;
    counts.retried = plan.retried;
    if (counts.invalid > 0) {
      log.warn(
        {
          nullKeys: plan.invalid.nullKeys,
          duplicateKeyRows: plan.invalid.duplicateKeyRows,
          sampleDuplicateKeys: plan.invalid.sampleDuplicateKeys,
        },
        `${counts.invalid} invalid rows (null or duplicate ${model.key}) are not sent`,
      );
    }
    log.info(
      { added: plan.added, changed: plan.changed, removed: plan.removed, retried: plan.retried },
      'planned',
    );
    flagRate = await guardFlagRate({
      store,
      model: compiled,
      columns: probe.columns,
      routing: syncR.routing,
      max: sync.max_flag_rate,
      sync: name,
      ...(dry ? {} : { runId }),
      log,
    });

    // Mirror guard: an empty model or a mass removal is almost always an upstream accident.
    if (target.mode === 'mirror' && !options.allowMassRemoval && plan.snapshotRows > 0) {
      if (plan.validRows === 0) {
        throw new PqlsyncError(
          'MIRROR_GUARD',
          `the model returned 0 valid rows, so mirror mode would clear all ${plan.snapshotRows} synced records; refusing`,
          {
            location: { sync: name },
            hint: 'check the model and its upstream data; rerun with --allow-mass-removal if this is intended',
          },
        );
      }
      const pct = (plan.removed / plan.snapshotRows) * 100;
      if (pct > sync.max_removed_pct) {
        throw new PqlsyncError(
          'MIRROR_GUARD',
          `this run would remove ${plan.removed} of ${plan.snapshotRows} synced records (${pct.toFixed(1)}%), above max_removed_pct ${sync.max_removed_pct}; refusing`,
          {
            location: { sync: name },
            hint: 'check the model; rerun with --allow-mass-removal if this is intended',
          },
        );
      }
    }

    const estimatedBytes =
      dry && options.warehouse.estimateBytes ? await options.warehouse.estimateBytes(compiled) : undefined;
    const planInfo = {
      ...(estimatedBytes !== undefined ? { estimatedBytes } : {}),
      modelRows: plan.modelRows,
      validRows: plan.validRows,
      invalid: plan.invalid,
      snapshotRows: plan.snapshotRows,
      destination: sync.destination,
      object: sync.object,
      mode: sync.mode,
    };
    const kinds =
      target.mode === 'mirror' ? (['added', 'changed', 'removed'] as const) : (['added', 'changed'] as const);
    const toSend = plan.added + plan.changed + (target.mode === 'mirror' ? plan.removed : 0);
    let router: Router | undefined;
    // Tasks of earlier runs that the CRM refused (or a crash left unsent) are sent again even when no row changed.
    const outstanding =
      syncR.routing && !dry && toSend === 0
        ? await hasOutstandingTasks(store, name, syncR.routing, now())
        : false;
    if (syncR.routing && (toSend > 0 || outstanding)) {
      taskWriter = await (options.taskWriter ?? ((d) => createTaskWriter(d, options.loaded)))(
        sync.destination,
      );
      router = new Router({
        sync: name,
        destination: sync.destination,
        routing: syncR.routing,
        target,
        state: store,
        writer: taskWriter,
        runId,
        now,
        timeZone: sync.timezone ?? config.scheduler?.timezone ?? 'UTC',
        planTable: plan.planTable,
        dryRun: dry,
        log,
      });
      await router.start();
      if (!dry) countTasks(await router.resumeOutstanding());
    }
    if (dry) {
      // The destination's read-only preflight: what would fail the run (an object the CRM does not have, a missing
      // field) fails the plan the same way (exit 2), and nothing is created or written.
      destination = await options.destination(sync.destination);
      callsBefore = destination.apiCalls();
      await untilCancelled(destination.preflight(target, { readOnly: true }), options.cancel, name);
      apiCalls = destination.apiCalls() - callsBefore;
      if (!router) return summary('planned', undefined, planInfo);
      const tasks: PlannedTask[] = [];
      for await (const chunk of streamChanges(store, target, plan.planTable, kinds, toSend)) {
        const routed = await router.route(chunk, []);
        counts.tasks += routed.planned.length;
        tasks.push(...routed.planned.slice(0, Math.max(0, PLANNED_TASKS_LISTED - tasks.length)));
      }
      apiCalls += taskWriter?.apiCalls() ?? 0;
      return summary('planned', undefined, { ...planInfo, tasks });
    }

    if (target.mode !== 'mirror' && plan.removed > 0) await store.forgetRemoved(name, plan.planTable);
    if (toSend > 0) {
      // From here the warehouse only streams the plan out and commits state, for as long as the destination takes.
      await enterPhase('stream', { stateRows: plan.snapshotRows });
      destination = await options.destination(sync.destination);
      // One destination can serve several syncs in a CLI run: count only this run's calls.
      callsBefore = destination.apiCalls();
      await untilCancelled(destination.preflight(target), options.cancel, name);
      const capabilities = destination.capabilities(target, toSend);
      const st = store;
      let sinceBeat = now().getTime();
      const result = await writeChanges(streamChanges(st, target, plan.planTable, kinds, toSend), {
        destination,
        target,
        capabilities,
        retry: options.retry ?? retryFromConfig(config.destinations[sync.destination]),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.cancel ? { cancel: options.cancel } : {}),
        commit: async (changes: Change[], outcomes) => {
          const entered = options.tierWatch
            ? await tierEntered(st, name, changes, outcomes, options.tierWatch.tier, syncR)
            : [];
          // The lease first: a run that lost its lock (STATE_LOCK_HELD) writes no more state and sends no more.
          if (now().getTime() - sinceBeat > (lease * 1000) / 3) {
            await st.heartbeat(name, runId, lease);
            sinceBeat = now().getTime();
          }
          const routed = router ? await router.prepare(changes, outcomes) : undefined;
          await st.commitBatch(name, runId, changes, outcomes, (c) => tierOf(c, syncR, name));
          // Tasks go to the CRM after the records are committed: a refused task never holds them back.
          if (router && routed) {
            const sent = await router.send(routed);
            countTasks(sent);
            if (sent.alerts.length > 0) options.tierWatch?.onRouted?.(sent.alerts);
          }
          if (entered.length > 0) options.tierWatch?.onEnter(entered);
        },
        onProgress: (done) => options.onProgress?.(done, toSend),
      });
      counts.applied = result.applied;
      counts.rejected = result.rejected + result.retryable;
      stopError = result.stopError;
      if (!stopError && result.aborted) {
        const committed = result.applied + result.rejected + result.retryable;
        stopError = new PqlsyncError(
          'RUN_ABORTED',
          `stopped by shutdown after ${committed} of ${toSend} records were written and committed; the rest is sent by the next run`,
          { location: { sync: name } },
        );
      }
      apiCalls = destination.apiCalls() - callsBefore + (taskWriter?.apiCalls() ?? 0);
      // What follows joins the whole plan and snapshot again, as the plan did: under the plan's memory.
      await enterPhase('plan');
    }
    if (toSend === 0 && taskWriter) apiCalls = taskWriter.apiCalls();
    // A run that lost its lock leaves state to the run holding it.
    if (stopError?.code !== 'STATE_LOCK_HELD') await store.pruneResolvedFailures(name, plan.planTable);
    const status: RunStatus = stopError ? 'failed' : counts.rejected > 0 ? 'partial' : 'success';
    finishing = true;
    await store.finishRun(
      runId,
      status,
      counts,
      apiCalls,
      now().getTime() - started.getTime(),
      stopError?.format() ?? null,
    );
    runStarted = false;
    if (tasksFailed > 0) {
      log.warn({ tasksFailed }, `${tasksFailed} tasks were not created; the next run sends them again`);
    }
    log.info({ status, applied: counts.applied, rejected: counts.rejected, apiCalls }, 'run finished');
    return summary(status === 'failed' ? 'failed' : status === 'partial' ? 'partial' : 'success', stopError);
  } catch (err) {
    const thrown = toPqlsyncError(err);
    // A state write that failed after the writes stopped for a reason: that reason is the run's story.
    const e = stopError ?? thrown;
    if (destination) apiCalls = destination.apiCalls() - callsBefore + (taskWriter?.apiCalls() ?? 0);
    if (runStarted && store) {
      const durationMs = now().getTime() - started.getTime();
      try {
        // Not again when writing the end itself was what failed: keep it locally at once.
        if (finishing) throw thrown;
        await store.finishRun(runId, 'failed', counts, apiCalls, durationMs, e.format());
      } catch (finishErr) {
        const kept = keepUnrecordedRun(options.loaded.configPath, {
          runId,
          sync: name,
          stateSchema: store.schema,
          error: e.format(),
          counts: { ...counts },
          apiCalls,
          durationMs,
          finishedAt: now().toISOString(),
        });
        log.error(
          { err: toPqlsyncError(finishErr).message, runError: e.format(), keptIn: kept ?? null },
          kept
            ? `could not record the failed run in the state tables; its error is kept in ${kept} and the next run of ${name} writes it into the runs row`
            : 'could not record the failed run in the state tables, nor in a local file; its error is only in this log',
        );
      }
    }
    if (e !== thrown) log.error({ code: thrown.code, err: thrown.message }, 'writing state failed as well');
    log.error({ code: e.code, err: e.message }, 'run failed');
    return summary('failed', e);
  } finally {
    if (endPhase) {
      try {
        await endPhase();
      } catch (err) {
        log.warn({ err: toPqlsyncError(err).message }, 'could not restore the warehouse memory limit');
      }
    }
    if (taskWriter) {
      try {
        await taskWriter.close();
      } catch (err) {
        log.warn({ err: toPqlsyncError(err).message }, 'could not close the task writer');
      }
    }
    if (store && workTables.length > 0) {
      try {
        await store.dropWorkTables(workTables);
      } catch (err) {
        log.warn({ err: toPqlsyncError(err).message }, 'could not drop the working tables');
      }
    }
    if (lockTaken && store) {
      try {
        await store.releaseLock(name, runId);
      } catch (err) {
        log.error(
          { err: toPqlsyncError(err).message },
          'could not release the lock; it expires with its lease',
        );
      }
    }
  }
}

/** Applied changes whose tier is `tier` now and was not in the snapshot before this batch. */
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

/** Writes the runs rows of earlier runs that could not write their end (unrecorded-runs.ts); never fails the run. */
async function settleKeptRuns(
  store: StateStore,
  configPath: string,
  sync: string,
  log: ReturnType<typeof logger>,
): Promise<void> {
  try {
    const settled = await settleUnrecordedRuns(store, configPath, sync);
    if (settled.length > 0)
      log.warn({ runIds: settled }, 'recorded the end of earlier runs that could not write it');
  } catch (err) {
    log.warn(
      { err: toPqlsyncError(err).message },
      'could not record the end of earlier runs yet; the next run tries again',
    );
  }
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
