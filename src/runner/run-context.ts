/**
 * What one run of one sync carries from step to step (plan-step → send-step → commit-step, driven by run-sync.ts):
 * its identity and clock, the counts its summary reports, and what the orchestrator must close or release at the
 * end whatever happened (the lock, the task writer, working tables, the warehouse phase).
 */
import { randomUUID } from 'node:crypto';
import type { Destination } from '../destination/destination.js';
import type { PqlsyncError } from '../errors/pqlsync-error.js';
import type { TaskWriter } from '../routing/task-writer.js';
import { StateStore, ZERO_COUNTS, type RunCounts } from '../state/state-store.js';
import { logger, type Logger } from '../util/logger.js';
import type { PhaseScope, WarehousePhase } from '../warehouse/warehouse-adapter.js';
import type { FlagRateReport } from './flag-rate.js';
import type { RunSummary, RunSyncOptions, SummaryStatus } from './run-types.js';

export class RunContext {
  readonly now: () => Date;
  readonly started: Date;
  readonly runId = randomUUID();
  readonly name: string;
  readonly log: Logger;
  readonly dry: boolean;
  readonly lease: number;
  readonly store: StateStore;
  readonly counts: RunCounts = { ...ZERO_COUNTS };
  tasksFailed = 0;
  apiCalls = 0;
  /** The lock is held (released at the end). */
  lockTaken = false;
  /** The runs row says `running` (written `failed` if the run ends by an error). */
  runStarted = false;
  /** The error that stopped the writes; the run's story even when writing state fails after it. */
  stopError: PqlsyncError | undefined;
  /** True once the run's own end is being written. */
  finishing = false;
  destination: Destination | undefined;
  /** The destination's API calls before this run (one destination can serve several syncs in a CLI run). */
  callsBefore = 0;
  taskWriter: TaskWriter | undefined;
  /** The share of the model's rows in each tier, against max_flag_rate (set by the plan step). */
  flagRate: FlagRateReport | undefined;
  /** Working tables (without schema) to drop at the end. */
  workTables: string[] = [];
  private endPhase: (() => Promise<void>) | undefined;

  constructor(readonly options: RunSyncOptions) {
    this.now = options.now ?? (() => new Date());
    this.started = this.now();
    this.name = options.syncName;
    this.log = logger().child({ sync: this.name, runId: this.runId });
    this.dry = options.dryRun ?? false;
    const { config } = options.loaded;
    this.lease = config.scheduler?.lock_lease_seconds ?? 60;
    this.store = new StateStore(options.warehouse, config.state.schema, this.now);
  }

  /** Counts what the router did with tasks. */
  countTasks(routed: { created: number; failed: number }): void {
    this.counts.tasks += routed.created;
    this.tasksFailed += routed.failed;
  }

  /** API calls of this run so far: the destination's since the run began, and the task writer's. */
  countApiCalls(): void {
    if (this.destination)
      this.apiCalls = this.destination.apiCalls() - this.callsBefore + (this.taskWriter?.apiCalls() ?? 0);
    else if (this.taskWriter) this.apiCalls = this.taskWriter.apiCalls();
  }

  elapsedMs(): number {
    return this.now().getTime() - this.started.getTime();
  }

  /** Marks what the warehouse does from now on (see WarehouseAdapter.phase), ending the mark before it. */
  async enterPhase(kind: WarehousePhase, scope?: PhaseScope): Promise<void> {
    const previous = this.endPhase;
    this.endPhase = await this.options.warehouse.phase?.(kind, scope);
    await previous?.();
  }

  /** Ends the last phase mark (the warehouse's memory limit back to its own). */
  async leavePhase(): Promise<void> {
    const end = this.endPhase;
    this.endPhase = undefined;
    await end?.();
  }

  summary(status: SummaryStatus, err?: PqlsyncError, plan?: RunSummary['plan']): RunSummary {
    return {
      sync: this.name,
      runId: this.runId,
      status,
      counts: { ...this.counts },
      ...(this.tasksFailed > 0 ? { tasksFailed: this.tasksFailed } : {}),
      apiCalls: this.apiCalls,
      durationMs: this.elapsedMs(),
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
      ...(this.flagRate ? { flagRate: this.flagRate } : {}),
      ...(plan ? { plan } : {}),
    };
  }
}
