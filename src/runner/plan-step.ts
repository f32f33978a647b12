/**
 * A run's first step: compile the model, resolve the config's columns against the model's real output, take the
 * lock and fold what an earlier run left in the outcome journal (not in a plan), check the mapping, and plan the
 * diff in the warehouse. Nothing is sent; a plan (dry run) writes nothing either.
 */
import type { SyncConfig } from '../config/config-schema.js';
import type { ChangeKind, SyncTarget } from '../destination/destination.js';
import { PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import { compileModel } from '../model/compile-model.js';
import { displayPath, loadModel } from '../model/model-file.js';
import { planSync, probeModel, type PlanSummary } from '../plan/plan-sync.js';
import { resolveSyncColumns } from '../plan/resolve-columns.js';
import { modelScoreBands } from '../routing/tiers.js';
import { checkMappingSignature, mappingSignature } from '../state/mapping-signature.js';
import { foldJournal, unfoldedOutcomes } from '../state/outcome-journal.js';
import type { StateStore } from '../state/state-store.js';
import { settleUnrecordedRuns } from '../state/unrecorded-runs.js';
import type { Logger } from '../util/logger.js';
import type { RunContext } from './run-context.js';
import { guardFlagRate } from './flag-rate.js';
import type { RunSummary } from './run-types.js';

/** Adapters that key result rows by lower-cased column names (so a lower-case config name always read right). */
const ROW_KEYS_LOWER_CASE: ReadonlySet<string> = new Set(['bigquery', 'snowflake']);

/** What the plan step hands to the send and commit steps. */
export interface PlannedRun {
  /** The sync's config, routing resolved against the model's columns. */
  sync: SyncConfig;
  /** The destination-side view of the sync, columns resolved against the model's output. */
  target: SyncTarget;
  plan: PlanSummary;
  /** What a plan reports (the summary's `plan`, without tasks). */
  planInfo: NonNullable<RunSummary['plan']>;
  /** The kinds of change that are sent (removed only in mirror mode). */
  kinds: readonly ChangeKind[];
  /** Changes to send. */
  toSend: number;
}

export async function planStep(ctx: RunContext): Promise<PlannedRun> {
  const { options, name, store, dry, log } = ctx;
  const { config, modelsDir } = options.loaded;
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
    await store.acquireLock(name, ctx.runId, ctx.lease);
    ctx.lockTaken = true;
    await settleKeptRuns(store, options.loaded.configPath, name, log);
    await store.startRun({ runId: ctx.runId, sync: name, startedAt: ctx.started, modelHash: model.hash });
    ctx.runStarted = true;
    await store.ensureSyncTables(name);
    // Outcomes a run that died journaled (the CRM acknowledged them) enter the snapshot before anything is planned.
    const pending = await foldJournal(store, name);
    if (pending.folded > 0)
      log.info(
        { runIds: pending.runIds, outcomes: pending.folded },
        'folded the outcome journal of an earlier run that ended before folding it',
      );
  } else {
    const pending = await unfoldedOutcomes(store, name);
    if (pending > 0)
      log.warn(
        { outcomes: pending },
        `an earlier run ended before folding ${pending} outcomes into the snapshot: this plan counts those records as changes, the next run folds them and does not send them again`,
      );
  }
  const { rematched } = await checkMappingSignature(store, {
    sync: name,
    current: mappingSignature(configTarget, sync.destination, config.destinations[sync.destination]),
    runId: ctx.runId,
    rematch: options.rematch ?? false,
    dryRun: dry,
    configFile: displayPath(options.loaded.configPath),
    now: ctx.started,
    configured: Object.keys(config.syncs),
  });
  if (rematched) log.warn({}, 'the mapping changed: --rematch forgot the snapshot and failures');

  await ctx.enterPhase('plan');
  const plan = await planSync({
    ...planOptions,
    target,
    keyColumn: resolved.keyColumn,
    probe,
    hashTarget: configTarget,
    resendAll: resolved.misread,
    fresh: dry && rematched,
  });
  ctx.workTables = plan.workTables;
  const counts = ctx.counts;
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
  ctx.flagRate = await guardFlagRate({
    store,
    model: compiled,
    columns: probe.columns,
    routing: syncR.routing,
    max: sync.max_flag_rate,
    sync: name,
    ...(dry ? {} : { runId: ctx.runId }),
    log,
  });

  mirrorGuard(ctx, target, plan, sync.max_removed_pct);

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
  const mirror = target.mode === 'mirror';
  return {
    sync: syncR,
    target,
    plan,
    planInfo,
    kinds: mirror ? ['added', 'changed', 'removed'] : ['added', 'changed'],
    toSend: plan.added + plan.changed + (mirror ? plan.removed : 0),
  };
}

/** Builds the destination-side view of a sync from its config. */
export function syncTarget(name: string, sync: SyncConfig, keyColumn: string): SyncTarget {
  return {
    sync: name,
    object: sync.object,
    matchField: sync.match.field,
    matchColumn: sync.match.column ?? keyColumn,
    mode: sync.mode,
    fields: Object.entries(sync.fields).map(([field, m]) =>
      typeof m === 'string'
        ? { field, column: m, skipNull: false, clearedValue: null }
        : { field, column: m.column, skipNull: m.skip_null, clearedValue: m.cleared_value ?? null },
    ),
    onRemove: sync.on_remove ?? {},
  };
}

/** Mirror guard: an empty model or a mass removal is almost always an upstream accident. */
function mirrorGuard(ctx: RunContext, target: SyncTarget, plan: PlanSummary, maxRemovedPct: number): void {
  if (target.mode !== 'mirror' || ctx.options.allowMassRemoval || plan.snapshotRows === 0) return;
  const location = { sync: ctx.name };
  if (plan.validRows === 0) {
    throw new PqlsyncError(
      'MIRROR_GUARD',
      `the model returned 0 valid rows, so mirror mode would clear all ${plan.snapshotRows} synced records; refusing`,
      {
        location,
        hint: 'check the model and its upstream data; rerun with --allow-mass-removal if this is intended',
      },
    );
  }
  const pct = (plan.removed / plan.snapshotRows) * 100;
  if (pct > maxRemovedPct) {
    throw new PqlsyncError(
      'MIRROR_GUARD',
      `this run would remove ${plan.removed} of ${plan.snapshotRows} synced records (${pct.toFixed(1)}%), above max_removed_pct ${maxRemovedPct}; refusing`,
      { location, hint: 'check the model; rerun with --allow-mass-removal if this is intended' },
    );
  }
}

/** Writes the runs rows of earlier runs that could not write their end (unrecorded-runs.ts); never fails the run. */
async function settleKeptRuns(
  store: StateStore,
  configPath: string,
  sync: string,
  log: Logger,
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
