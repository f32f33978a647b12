/**
 * The types a run of one sync is driven by and answers with: its options and its JSON summary (DESIGN.md, "CLI
 * contract"). run-sync.ts re-exports them.
 */
import type { RetryPolicy } from '../destination/batch-writer.js';
import type { Change, Destination } from '../destination/destination.js';
import type { LoadedConfig } from '../config/load-config.js';
import type { PlanSummary } from '../plan/plan-sync.js';
import type { PlannedTask } from '../routing/router.js';
import type { TaskWriter } from '../routing/task-writer.js';
import type { RejectionGroup } from '../state/failure-report.js';
import type { FlagRateReport } from './flag-rate.js';
import type { RunCounts } from '../state/state-store.js';
import type { WarehouseAdapter } from '../warehouse/warehouse-adapter.js';

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
