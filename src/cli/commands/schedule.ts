/**
 * `pqlsync schedule [--health-port P] [--after-dbt run_results.json]`: the built-in scheduler. Runs each sync on
 * its `schedule` (cron, UTC unless `timezone`), never two runs of one sync at once, until SIGTERM or SIGINT.
 */
import { Command } from 'commander';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { globalFlags, initCli, loadProject, reportError } from '../cli-context.js';

interface ScheduleFlags {
  healthPort?: string;
  afterDbt?: string;
}

export function registerScheduleCommand(program: Command): void {
  program
    .command('schedule')
    .description(
      'run syncs on their cron schedules until SIGTERM/SIGINT (then finish the running batch and exit 0)',
    )
    .option('--health-port <port>', 'serve /healthz and /metrics (Prometheus) on 127.0.0.1:<port>')
    .option(
      '--after-dbt <path>',
      'skip syncs whose models read dbt nodes that failed in this run_results.json (read before every run)',
    )
    .action(async (_opts: ScheduleFlags, cmd: Command) => {
      const flags = { ...globalFlags(cmd), ...cmd.opts<ScheduleFlags>() };
      initCli(flags);
      let code: number;
      try {
        const loaded = await loadProject(flags);
        const { runScheduleDaemon, STOP_SIGNALS } = await import('../../scheduler/schedule-daemon.js');
        code = await runScheduleDaemon({
          loaded,
          signals: process,
          // Keeps stop signals caught until process.exit below: the daemon removes its own listeners when it
          // returns, and a signal in that moment (a supervisor repeating SIGTERM) would otherwise end the
          // process by the signal instead of with the exit code of a clean stop.
          onReady: () => {
            for (const signal of STOP_SIGNALS) process.on(signal, ignoreLateSignal);
          },
          ...(flags.healthPort !== undefined ? { healthPort: parsePort(flags.healthPort) } : {}),
          ...(flags.afterDbt ? { afterDbt: flags.afterDbt } : {}),
        });
      } catch (err) {
        code = reportError(err, flags);
      }
      // Runs cut off by the grace period may still hold handles; the exit code is what matters now.
      process.exit(code);
    });
}

/** A stop signal once the daemon is stopping or stopped: the daemon's own listener (if still there) acts. */
function ignoreLateSignal(): void {}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PqlsyncError(
      'ARGS_INVALID',
      `--health-port must be a port number from 0 to 65535, got '${text}'`,
    );
  }
  return port;
}
