/**
 * The long-running part of `pqlsync schedule`: starts the scheduler (and the health server), waits for SIGTERM or
 * SIGINT, stops gracefully and returns the exit code: 0 after a clean stop, 1 when runs were still going when the
 * grace period (`scheduler.shutdown_grace_seconds`) ran out. A second signal stops waiting at once (exit 1).
 */
import type { LoadedConfig } from '../config/load-config.js';
import { WebhookAlerts, type PostJson } from '../alerts/webhook-alerts.js';
import type { Destination } from '../destination/destination.js';
import type { RunSummary } from '../runner/run-sync.js';
import { logger } from '../util/logger.js';
import type { WarehouseAdapter } from '../warehouse/warehouse-adapter.js';
import { startHealthServer, type HealthServer } from './health-server.js';
import { planSchedules, Scheduler } from './scheduler.js';
import type { RunMetricStatus } from './scheduler-metrics.js';

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Where stop signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: (typeof STOP_SIGNALS)[number], listener: () => void): unknown;
  off(signal: (typeof STOP_SIGNALS)[number], listener: () => void): unknown;
}

export interface DaemonOptions {
  loaded: LoadedConfig;
  /** Serve /healthz and /metrics on this port (0 = any free port). (Default: no server) */
  healthPort?: number;
  afterDbt?: string;
  signals: SignalSource;
  /** Called once the daemon is scheduled (and listening, with the health server's URL). */
  onReady?: (info: { scheduler: Scheduler; healthUrl?: string }) => void;
  onRun?: (summary: RunSummary, status: RunMetricStatus) => void;
  warehouse?: WarehouseAdapter;
  destination?: (name: string) => Promise<Destination>;
  /** Alert transport override (tests). (Default: fetch) */
  postAlert?: PostJson;
}

export async function runScheduleDaemon(options: DaemonOptions): Promise<number> {
  const { loaded } = options;
  const log = logger();
  const alerts = loaded.config.alerts
    ? new WebhookAlerts(loaded.config.alerts, options.postAlert)
    : undefined;
  // Validates every schedule before anything starts (CONFIG_INVALID → exit 2).
  const syncs = planSchedules(loaded).map((p) => p.sync);
  // prom-client (and the OpenTelemetry API it loads) only for the daemon, never at start-up.
  const { SchedulerMetrics } = await import('./scheduler-metrics.js');
  const metrics = new SchedulerMetrics(syncs);
  const scheduler = new Scheduler({
    loaded,
    metrics,
    ...(options.warehouse ? { warehouse: options.warehouse } : {}),
    ...(options.destination ? { destination: options.destination } : {}),
    ...(options.afterDbt ? { afterDbt: options.afterDbt } : {}),
    ...(alerts ? { alerts } : {}),
    ...(options.onRun ? { onRun: options.onRun } : {}),
  });
  let health: HealthServer | undefined;
  if (options.healthPort !== undefined) {
    health = await startHealthServer(scheduler, metrics, { port: options.healthPort });
    log.info({ url: health.url }, `health at ${health.url}/healthz, metrics at ${health.url}/metrics`);
  }
  scheduler.start();
  const grace = (loaded.config.scheduler?.shutdown_grace_seconds ?? 60) * 1000;

  const listeners: [(typeof STOP_SIGNALS)[number], () => void][] = [];
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    for (const signal of STOP_SIGNALS) {
      const listener = () => {
        if (stopping) {
          log.warn(
            { signal },
            'second stop signal: exiting without waiting; an unfinished run replays at most one batch',
          );
          resolve(1);
          return;
        }
        stopping = true;
        log.info(
          { signal, graceSeconds: grace / 1000 },
          'stopping: no new runs; running batches finish and commit',
        );
        void scheduler.stop(grace).then(({ clean, stillRunning }) => {
          if (clean) log.info('stopped cleanly');
          else
            log.error(
              { stillRunning },
              'grace period over with runs still going; their locks expire with the lease',
            );
          resolve(clean ? 0 : 1);
        });
      };
      listeners.push([signal, listener]);
      options.signals.on(signal, listener);
    }
    options.onReady?.({ scheduler, ...(health ? { healthUrl: health.url } : {}) });
  });
  for (const [signal, listener] of listeners) options.signals.off(signal, listener);
  await health?.close();
  return code;
}
