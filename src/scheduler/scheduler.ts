/**
 * The `pqlsync schedule` daemon: one node-cron task per sync with a `schedule`, runs through the same runner as
 * `pqlsync run`.
 *
 * Glossary:
 * - tick: a cron match for a sync (UTC unless the sync or `scheduler.timezone` names another zone).
 * - chained sync: an enabled sync without a `schedule` whose `depends_on` names a scheduled sync; it runs after
 *   each run of that sync that did not fail.
 * - overlap: a tick for a sync whose previous run (in this daemon) is still going; the tick is skipped. Across
 *   processes the state store's lock does the same (the other process's run exits with STATE_LOCK_HELD, counted
 *   as `skipped`).
 * - graceful stop: no new runs; running ones stop dispatching batches, the batch in flight finishes and commits,
 *   and `stop()` resolves, or reports `clean: false` when the grace period ran out first.
 */
import cron from 'node-cron';
import pLimit from 'p-limit';
import type { LoadedConfig } from '../config/load-config.js';
import type { WebhookAlerts } from '../alerts/webhook-alerts.js';
import type { RetryPolicy } from '../destination/batch-writer.js';
import { DestinationPool } from '../destination/create-destination.js';
import type { Destination } from '../destination/destination.js';
import { PqlsyncError, toPqlsyncError } from '../errors/pqlsync-error.js';
import { runSync, type RunSummary } from '../runner/run-sync.js';
import { ZERO_COUNTS } from '../state/state-store.js';
import { logger } from '../util/logger.js';
import { createWarehouse } from '../warehouse/create-warehouse.js';
import type { WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import { readDbtGate } from './dbt-gate.js';
import { explainLockHolder } from './lock-holder-process.js';
import { CronSchedule, MAX_TIMER_MS, systemClock, type SchedulerClock } from './scheduler-clock.js';
import type { RunMetricStatus, SchedulerMetrics } from './scheduler-metrics.js';

export interface SchedulerOptions {
  loaded: LoadedConfig;
  /** Use this (connected) warehouse for every run and never close it (tests). (Default: open the configured one per busy period) */
  warehouse?: WarehouseAdapter;
  /** Use this destination factory instead of the configured destinations (tests). */
  destination?: (name: string) => Promise<Destination>;
  /** `--after-dbt`: dbt's run_results.json, read again before every run. (Default: no gate) */
  afterDbt?: string;
  alerts?: WebhookAlerts;
  metrics?: SchedulerMetrics;
  retry?: Partial<RetryPolicy>;
  /** Called after every finished or skipped run (tests, the CLI's summary line). */
  onRun?: (summary: RunSummary, status: RunMetricStatus) => void;
  /** The clock for cron ticks, the grace period and run timestamps; tests move it. (Default: the system clock) */
  clock?: SchedulerClock;
}

/** What `/healthz` reports per sync. */
export interface SyncState {
  sync: string;
  schedule: string | null;
  timezone: string | null;
  /** Scheduled syncs that trigger this one (chained syncs only). */
  after: string[];
  running: boolean;
  nextRun: string | null;
  lastRun: { runId: string; status: RunMetricStatus; finishedAt: string; error?: string } | null;
}

interface Planned {
  sync: string;
  schedule: string | null;
  timezone: string | null;
  after: string[];
}

interface Tick {
  schedule: CronSchedule;
  next: Date | undefined;
  timer: unknown;
}

export class Scheduler {
  private readonly ticks = new Map<string, Tick>();
  private readonly inflight = new Map<string, Promise<RunMetricStatus>>();
  private readonly last = new Map<string, SyncState['lastRun']>();
  private readonly abort = new AbortController();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly planned: Planned[];
  private stopping = false;
  private warehouse: Promise<WarehouseAdapter> | undefined;
  private warehouseUsers = 0;
  private readonly clock: SchedulerClock;
  private readonly now: () => Date;

  constructor(private readonly options: SchedulerOptions) {
    this.planned = planSchedules(options.loaded);
    this.limit = pLimit(options.loaded.config.scheduler?.max_concurrent_syncs ?? 2);
    this.clock = options.clock ?? systemClock;
    this.now = () => this.clock.now();
  }

  /** The syncs this daemon runs (scheduled and chained), in config order. */
  get syncs(): string[] {
    return this.planned.map((p) => p.sync);
  }

  /** Creates the cron tasks. Throws CONFIG_INVALID (all problems together) before anything is scheduled. */
  start(): void {
    const log = logger();
    for (const p of this.planned) {
      if (!p.schedule) continue;
      const tick: Tick = {
        schedule: new CronSchedule(p.schedule, p.timezone ?? 'UTC'),
        next: undefined,
        timer: undefined,
      };
      this.ticks.set(p.sync, tick);
      this.arm(p.sync, tick);
    }
    for (const p of this.planned) {
      log.info(
        p.schedule
          ? {
              sync: p.sync,
              schedule: p.schedule,
              timezone: p.timezone,
              nextRun: this.ticks.get(p.sync)?.next?.toISOString(),
            }
          : { sync: p.sync, after: p.after },
        p.schedule ? 'scheduled' : `runs after ${p.after.join(', ')}`,
      );
    }
  }

  /** Sets the timer for the sync's next cron match; when it fires, triggers the run and arms the next one. */
  private arm(sync: string, tick: Tick): void {
    const now = this.now();
    tick.next ??= tick.schedule.nextMatch(now);
    if (!tick.next || this.stopping) return;
    const due = tick.next;
    const wait = due.getTime() - now.getTime();
    tick.timer = this.clock.setTimeout(
      () => {
        if (this.stopping) return;
        // A match more than ~24.8 days away is reached in steps: wake up, arm again.
        if (wait <= MAX_TIMER_MS) {
          // Ticks missed while the process was asleep (a timer fired late) are not replayed: one run, then on.
          const from = Math.max(due.getTime(), this.now().getTime());
          tick.next = tick.schedule.nextMatch(new Date(from));
          void this.trigger(sync, 'schedule');
        }
        this.arm(sync, tick);
      },
      Math.min(Math.max(wait, 0), MAX_TIMER_MS),
    );
  }

  /**
   * Starts a run of `sync` unless one is already going in this daemon (then the tick is skipped). Waits for the
   * sync's dependencies that are running here; skips it when one of them just failed. Resolves when done.
   */
  trigger(sync: string, reason: string): Promise<RunMetricStatus> {
    const log = logger().child({ sync });
    if (this.stopping) {
      log.info({ reason }, 'shutting down; run not started');
      return Promise.resolve('skipped');
    }
    if (this.inflight.has(sync)) {
      log.warn({ reason }, 'the previous run of this sync is still going; this tick is skipped');
      this.record(
        skipSummary(sync, 'the previous run of this sync is still going in this scheduler'),
        'skipped',
        true,
      );
      return Promise.resolve('skipped');
    }
    const deps = (this.options.loaded.config.syncs[sync]?.depends_on ?? []).filter((d) =>
      this.inflight.has(d),
    );
    const p = (async (): Promise<RunMetricStatus> => {
      if (deps.length > 0) {
        log.info({ waitingFor: deps }, 'waiting for dependencies to finish');
        const results = await Promise.all(deps.map((d) => this.inflight.get(d)));
        const failed = deps.filter((_d, i) => results[i] === 'failed');
        if (failed.length > 0) {
          return this.record(
            skipSummary(sync, `not run: it depends on ${failed.join(', ')}, whose run just failed`),
            'skipped',
          );
        }
      }
      return this.limit(() => this.runOne(sync, reason));
    })();
    this.inflight.set(sync, p);
    void p.finally(() => {
      if (this.inflight.get(sync) === p) this.inflight.delete(sync);
    });
    return p;
  }

  private async runOne(sync: string, reason: string): Promise<RunMetricStatus> {
    const log = logger().child({ sync });
    if (this.stopping) {
      log.info({ reason }, 'shutting down; run not started');
      return 'skipped';
    }
    log.info({ reason }, 'run starting');
    let summary: RunSummary;
    let warehouse: WarehouseAdapter | undefined;
    const pool = new DestinationPool(this.options.loaded);
    try {
      const gate = this.options.afterDbt ? readDbtGate(this.options.afterDbt) : undefined;
      warehouse = await this.acquireWarehouse();
      const tierWatch = this.options.alerts?.tierWatch(sync);
      summary = await runSync({
        loaded: this.options.loaded,
        warehouse,
        syncName: sync,
        destination: this.options.destination ?? ((n) => pool.get(n)),
        taskWriter: (n) => pool.taskWriter(n),
        signal: this.abort.signal,
        ...(this.options.retry ? { retry: this.options.retry } : {}),
        ...(gate ? { gate: (g) => gate.blockReason(g.model, g.sql) } : {}),
        ...(tierWatch ? { tierWatch } : {}),
        ...(this.options.clock ? { now: this.now } : {}),
      });
    } catch (err) {
      // Opening the warehouse (DuckDB held by another process) or reading the dbt results failed.
      const e = explainLockHolder(toPqlsyncError(err));
      summary = {
        ...skipSummary(sync, e.format()),
        error: { code: e.code, kind: e.kind, message: e.format() },
      };
    } finally {
      await pool.closeAll();
      if (warehouse) await this.releaseWarehouse();
    }
    const status = statusOf(summary);
    this.record(summary, status);
    await this.options.alerts?.afterRun(summary, { quiet: this.abort.signal.aborted });
    if (status === 'success' || status === 'partial') {
      for (const p of this.planned) {
        if (!p.schedule && p.after.includes(sync) && !this.stopping)
          void this.trigger(p.sync, `after ${sync}`);
      }
    }
    return status;
  }

  private record(summary: RunSummary, status: RunMetricStatus, quietLog = false): RunMetricStatus {
    const finishedAt = this.now();
    this.options.metrics?.observe(summary, status, finishedAt);
    this.last.set(summary.sync, {
      runId: summary.runId,
      status,
      finishedAt: finishedAt.toISOString(),
      ...(summary.error ? { error: summary.error.message } : {}),
    });
    if (!quietLog) {
      const fields = {
        sync: summary.sync,
        runId: summary.runId,
        status,
        counts: summary.counts,
        durationMs: summary.durationMs,
      };
      const log = logger();
      if (status === 'failed')
        log.error({ ...fields, error: summary.error?.message }, 'run failed; the scheduler keeps going');
      else if (status === 'skipped') log.info({ ...fields, reason: summary.error?.message }, 'run skipped');
      else log.debug(fields, 'run recorded');
    }
    this.options.onRun?.(summary, status);
    return status;
  }

  private async acquireWarehouse(): Promise<WarehouseAdapter> {
    if (this.options.warehouse) return this.options.warehouse;
    this.warehouseUsers++;
    if (!this.warehouse) {
      const opening = (async () => {
        const wh = await createWarehouse(this.options.loaded);
        await wh.connect();
        return wh;
      })();
      this.warehouse = opening;
      opening.catch(() => {
        if (this.warehouse === opening) this.warehouse = undefined;
      });
    }
    try {
      return await this.warehouse;
    } catch (err) {
      this.warehouseUsers--;
      throw err;
    }
  }

  /** Closes the warehouse when no run uses it, so the DuckDB file is free between runs. */
  private async releaseWarehouse(): Promise<void> {
    if (this.options.warehouse) return;
    this.warehouseUsers--;
    if (this.warehouseUsers > 0 || !this.warehouse) return;
    const closing = this.warehouse;
    this.warehouse = undefined;
    try {
      await (await closing).close();
    } catch (err) {
      logger().warn({ err: toPqlsyncError(err).message }, 'could not close the warehouse');
    }
  }

  /** Resolves when no run is in flight. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight.values()]);
  }

  /** True while `stop()` is under way or done. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Graceful stop: no new runs, running ones stop after the batch in flight commits. Resolves with `clean: false`
   * when runs were still going after `graceMs`.
   */
  async stop(graceMs: number): Promise<{ clean: boolean; stillRunning: string[] }> {
    this.stopping = true;
    for (const tick of this.ticks.values()) {
      this.clock.clearTimeout(tick.timer);
      tick.schedule.destroy();
    }
    this.ticks.clear();
    this.abort.abort();
    let timer: unknown;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([this.idle().then(() => 'done' as const), timedOut]);
    this.clock.clearTimeout(timer);
    return { clean: outcome === 'done', stillRunning: [...this.inflight.keys()] };
  }

  /** Per-sync state for `/healthz`. */
  states(): SyncState[] {
    return this.planned.map((p) => ({
      ...p,
      running: this.inflight.has(p.sync),
      nextRun: this.ticks.get(p.sync)?.next?.toISOString() ?? null,
      lastRun: this.last.get(p.sync) ?? null,
    }));
  }
}

/**
 * The syncs the daemon runs: enabled syncs with a valid `schedule`, and chained ones. Throws CONFIG_INVALID with
 * every bad cron expression or time zone, or when nothing is scheduled.
 */
export function planSchedules(loaded: LoadedConfig): Planned[] {
  const { config, configPath } = loaded;
  const defaultZone = config.scheduler?.timezone ?? 'UTC';
  const problems: string[] = [];
  const out: Planned[] = [];
  for (const [sync, s] of Object.entries(config.syncs)) {
    if (!s.enabled || !s.schedule) continue;
    const check = cron.validateDetailed(s.schedule);
    if (!check.valid) {
      const why = check.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      problems.push(
        `syncs.${sync}.schedule: '${s.schedule}' is not a cron expression (${why}); e.g. "0 */4 * * *" for every 4 hours`,
      );
    }
    const zone = s.timezone ?? defaultZone;
    if (!validTimezone(zone)) {
      const at = s.timezone ? `syncs.${sync}.timezone` : 'scheduler.timezone';
      problems.push(`${at}: '${zone}' is not an IANA time zone; e.g. UTC, Europe/Berlin, America/New_York`);
    }
    out.push({ sync, schedule: s.schedule, timezone: zone, after: [] });
  }
  const scheduled = new Set(out.map((p) => p.sync));
  for (const [sync, s] of Object.entries(config.syncs)) {
    if (!s.enabled || s.schedule) continue;
    const after = s.depends_on.filter((d) => scheduled.has(d));
    if (after.length > 0) out.push({ sync, schedule: null, timezone: null, after });
  }
  if (problems.length > 0) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `${problems.length} ${noun} in ${configPath}:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      {
        location: { file: configPath },
      },
    );
  }
  if (out.length === 0) {
    throw new PqlsyncError(
      'CONFIG_INVALID',
      `no enabled sync in ${configPath} has a schedule, so there is nothing to schedule`,
      {
        location: { file: configPath },
        hint: 'add e.g. `schedule: "0 */4 * * *"` to a sync, or run syncs from cron with `pqlsync run --all`',
      },
    );
  }
  return out;
}

function validTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A summary for a run that did not happen. */
function skipSummary(sync: string, message: string): RunSummary {
  return {
    sync,
    runId: '',
    status: 'failed',
    counts: { ...ZERO_COUNTS },
    apiCalls: 0,
    durationMs: 0,
    error: { code: 'RUN_ABORTED', kind: 'system', message },
  };
}

/** Metric status: a run kept from running by a lock, a dependency or the dbt gate is `skipped`, not `failed`. */
function statusOf(summary: RunSummary): RunMetricStatus {
  if (summary.status === 'success' || summary.status === 'partial') return summary.status;
  const code = summary.error?.code;
  if (code === 'STATE_LOCK_HELD' || code === 'DBT_UPSTREAM_FAILED') return 'skipped';
  if (code === 'RUN_ABORTED' && summary.runId === '') return 'skipped';
  if (code === 'RUN_ABORTED' && /^(sync \S+: )?not run: /.test(summary.error?.message ?? ''))
    return 'skipped';
  return 'failed';
}
