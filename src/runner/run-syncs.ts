/**
 * Runs (or plans) several syncs in dependency order on one warehouse connection: what `run`, `plan`, `demo` and
 * the scheduler call. A sync whose dependency failed is not run (its summary says so).
 */
import { requireSection, type LoadedConfig } from '../config/load-config.js';
import {
  DestinationPool,
  preloadDestination,
  type DestinationOverrides,
} from '../destination/create-destination.js';
import type { RetryPolicy } from '../destination/batch-writer.js';
import type { Destination } from '../destination/destination.js';
import { PqlsyncError } from '../errors/pqlsync-error.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import type { WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import { runSync, type RunSummary, type RunSyncOptions } from './run-sync.js';
import { StateStore, ZERO_COUNTS } from '../state/state-store.js';
import { groupRejections, type RejectionGroup } from '../state/failure-report.js';
import { logger } from '../util/logger.js';

export interface RunSyncsOptions {
  loaded: LoadedConfig;
  /** Sync names; empty with `all` means every enabled sync. */
  syncs: string[];
  all?: boolean;
  dryRun?: boolean;
  vars?: Record<string, unknown>;
  allowMassRemoval?: boolean;
  /** Accept changed mappings (`--rematch`; see RunSyncOptions.rematch). (Default: false) */
  rematch?: boolean;
  retry?: Partial<RetryPolicy>;
  /** Use this warehouse instead of opening the configured one (tests, the demo). */
  warehouse?: WarehouseAdapter;
  /** Use this destination factory instead of the configured destinations (tests). */
  destination?: (name: string) => Promise<Destination>;
  /** Command-line overrides of the configured destinations (`run --create-properties`). (Default: none) */
  destinationOverrides?: DestinationOverrides;
  onSummary?: (summary: RunSummary) => void;
  /** Passed to every runSync: graceful stop, the `--after-dbt` gate, hot-tier alerts. (Default: none) */
  signal?: RunSyncOptions['signal'];
  cancel?: RunSyncOptions['cancel'];
  gate?: RunSyncOptions['gate'];
  tierWatch?: (sync: string) => RunSyncOptions['tierWatch'];
  onProgress?: (sync: string, done: number, total: number) => void;
}

/** Orders syncs so that each comes after its `depends_on`; rejects unknown names and cycles. */
export function orderSyncs(loaded: LoadedConfig, names: string[], all: boolean): string[] {
  const syncs = loaded.config.syncs;
  const wanted = all ? Object.keys(syncs).filter((n) => syncs[n]?.enabled !== false) : names;
  if (wanted.length === 0) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      all ? 'the config defines no enabled syncs' : 'name at least one sync, or pass --all',
      {
        hint: `syncs: ${Object.keys(syncs).join(', ') || 'none'}`,
      },
    );
  }
  for (const n of wanted) {
    if (!syncs[n]) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `no sync named '${n}' in ${loaded.configPath} (syncs: ${Object.keys(syncs).join(', ') || 'none'})`,
      );
    }
  }
  const set = new Set(wanted);
  const out: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, chain: string[]) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') {
      throw new PqlsyncError('CONFIG_INVALID', `depends_on forms a cycle: ${[...chain, n].join(' -> ')}`, {
        location: { path: `syncs.${n}.depends_on` },
      });
    }
    state.set(n, 'visiting');
    for (const dep of syncs[n]?.depends_on ?? []) if (set.has(dep)) visit(dep, [...chain, n]);
    state.set(n, 'done');
    out.push(n);
  };
  for (const n of wanted) visit(n, []);
  return out;
}

export async function runSyncs(options: RunSyncsOptions): Promise<RunSummary[]> {
  const { loaded } = options;
  const order = orderSyncs(loaded, options.syncs, options.all ?? false);
  // Secrets a command deferred (DESIGN: resolved only for what it uses) must resolve for these syncs, before any
  // of them runs: a missing token fails the command up front (exit 2), not half-way through its syncs.
  if (!options.warehouse) requireSection(loaded, 'warehouse');
  if (!options.destination) {
    for (const name of order)
      requireSection(loaded, `destinations.${loaded.config.syncs[name]!.destination}`);
    // The CRM clients load while the warehouse opens and plans (DuckDB works on threads of its own meanwhile).
    for (const name of order)
      preloadDestination(loaded.config.destinations[loaded.config.syncs[name]!.destination]);
  }
  const ownWarehouse = !options.warehouse;
  const warehouse = options.warehouse ?? (await createWarehouse(loaded));
  const pool = new DestinationPool(loaded, options.destinationOverrides);
  const summaries: RunSummary[] = [];
  try {
    if (ownWarehouse) await warehouse.connect();
    const failed = new Set<string>();
    for (const name of order) {
      const blockedBy = (loaded.config.syncs[name]?.depends_on ?? []).filter((d) => failed.has(d));
      let summary: RunSummary;
      if (blockedBy.length > 0) {
        summary = {
          sync: name,
          runId: '',
          status: 'failed',
          counts: { ...ZERO_COUNTS },
          apiCalls: 0,
          durationMs: 0,
          error: {
            code: 'RUN_ABORTED',
            kind: 'system',
            message: `not run: it depends on ${blockedBy.join(', ')}, which failed`,
          },
        };
      } else {
        const tierWatch = options.tierWatch?.(name);
        summary = await runSync({
          loaded,
          warehouse,
          syncName: name,
          destination: options.destination ?? ((n) => pool.get(n)),
          taskWriter: (n) => pool.taskWriter(n),
          ...(options.vars ? { vars: options.vars } : {}),
          dryRun: options.dryRun ?? false,
          allowMassRemoval: options.allowMassRemoval ?? false,
          ...(options.rematch ? { rematch: true } : {}),
          ...(options.retry ? { retry: options.retry } : {}),
          onProgress: (done, total) => options.onProgress?.(name, done, total),
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.cancel ? { cancel: options.cancel } : {}),
          ...(options.gate ? { gate: options.gate } : {}),
          ...(tierWatch ? { tierWatch } : {}),
        });
      }
      if (summary.status === 'failed') failed.add(name);
      if (summary.counts.rejected > 0 && summary.runId) {
        const rejections = await rejectionsOf(warehouse, loaded, name, summary.runId);
        if (rejections.length > 0) summary = { ...summary, rejections };
      }
      if (summary.status !== 'failed' && !options.dryRun && loaded.config.syncs[name]?.read_back)
        await readBack(loaded, warehouse, name);
      summaries.push(summary);
      options.onSummary?.(summary);
    }
  } finally {
    await pool.closeAll();
    if (ownWarehouse) await warehouse.close();
  }
  return summaries;
}

/** The optional step after a run (`read_back: true`): pull its destination; a failure is logged, never the run's. */
async function readBack(loaded: LoadedConfig, warehouse: WarehouseAdapter, sync: string): Promise<void> {
  const { pullCrm } = await import('../pull/pull-crm.js');
  for (const r of await pullCrm({ loaded, warehouse, syncs: [sync] })) {
    const read = Object.fromEntries(r.objects.map((o) => [o.object, o.read]));
    if (r.error)
      logger().warn({ sync, destination: r.destination, err: r.error.message }, 'read back failed');
    else logger().info({ sync, destination: r.destination, read }, 'read back');
  }
}

/** A run's rejections by reason, read back from the failures it wrote (a read failure only loses the summary). */
async function rejectionsOf(
  warehouse: WarehouseAdapter,
  loaded: LoadedConfig,
  sync: string,
  runId: string,
): Promise<RejectionGroup[]> {
  try {
    const store = new StateStore(warehouse, loaded.config.state.schema);
    return groupRejections(await store.listFailures(sync, [runId]));
  } catch (err) {
    logger().warn({ sync, err: (err as Error).message }, "could not read the run's rejections back");
    return [];
  }
}
