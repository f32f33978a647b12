/**
 * Prometheus metrics of `pqlsync schedule` (prom-client, on a registry of their own so that several schedulers
 * in one process, as in tests, never collide).
 *
 * - `pqlsync_runs_total{sync,status}`: finished runs; status is success | partial | failed | skipped (another
 *   process held the lock, or a dependency or the dbt gate kept the sync from running).
 * - `pqlsync_records_total{sync,outcome}`: records applied / rejected by the destination.
 * - `pqlsync_run_duration_seconds{sync}`: run time, as a histogram.
 * - `pqlsync_last_success_timestamp_seconds{sync}`: when the sync last finished success or partial (alert on
 *   `time() - pqlsync_last_success_timestamp_seconds > 2 * interval`).
 * - `pqlsync_running_syncs`: runs in progress.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RunSummary } from '../runner/run-sync.js';

export const RUN_METRIC_STATUSES = ['success', 'partial', 'failed', 'skipped'] as const;
export type RunMetricStatus = (typeof RUN_METRIC_STATUSES)[number];

export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({
    name: 'pqlsync_runs_total',
    help: 'Finished runs by sync and status (success, partial, failed, skipped)',
    labelNames: ['sync', 'status'] as const,
    registers: [this.registry],
  });
  private readonly records = new Counter({
    name: 'pqlsync_records_total',
    help: 'Records the destination applied or rejected, by sync',
    labelNames: ['sync', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'pqlsync_run_duration_seconds',
    help: 'Run duration in seconds, by sync',
    labelNames: ['sync'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: 'pqlsync_last_success_timestamp_seconds',
    help: 'Unix time of the last successful (or partial) run, by sync',
    labelNames: ['sync'] as const,
    registers: [this.registry],
  });
  readonly running = new Gauge({
    name: 'pqlsync_running_syncs',
    help: 'Runs in progress',
    registers: [this.registry],
  });

  constructor(syncs: readonly string[], options: { processMetrics?: boolean } = {}) {
    // Zero series for every scheduled sync, so a dashboard shows "0 runs" instead of "no data".
    for (const sync of syncs) {
      for (const status of RUN_METRIC_STATUSES) this.runs.inc({ sync, status }, 0);
      this.records.inc({ sync, outcome: 'applied' }, 0);
      this.records.inc({ sync, outcome: 'rejected' }, 0);
    }
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'pqlsync_process_' });
  }

  /** Records a finished (or skipped) run. */
  observe(summary: RunSummary, status: RunMetricStatus, finishedAt: Date): void {
    const sync = summary.sync;
    this.runs.inc({ sync, status });
    this.records.inc({ sync, outcome: 'applied' }, summary.counts.applied);
    this.records.inc({ sync, outcome: 'rejected' }, summary.counts.rejected);
    if (status !== 'skipped') this.duration.observe({ sync }, summary.durationMs / 1000);
    if (status === 'success' || status === 'partial')
      this.lastSuccess.set({ sync }, Math.floor(finishedAt.getTime() / 1000));
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
