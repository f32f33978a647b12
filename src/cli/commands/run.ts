/**
 * `pqlsync run <sync...> | --all` and `pqlsync plan <sync...> | --all`.
 */
import { Command } from 'commander';
import type cliProgress from 'cli-progress';
import { createRequire } from 'node:module';
import type { RunSummary } from '../../runner/run-sync.js';
import { percent } from '../../runner/flag-rate-text.js';
import {
  EXIT,
  globalFlags,
  initCli,
  loadProject,
  parseVars,
  printSummaries,
  reportError,
} from '../cli-context.js';
import { PqlsyncError, toPqlsyncError } from '../../errors/pqlsync-error.js';
import { explainLockHolder } from '../../scheduler/lock-holder-process.js';
import { logger, setHumanLogSink } from '../../util/logger.js';

interface RunFlags {
  all?: boolean;
  allowMassRemoval?: boolean;
  failOnRejectedPct?: string;
  failOnFlagRate?: boolean;
  afterDbt?: string;
  createProperties?: boolean;
  rematch?: boolean;
}

const REMATCH_HELP =
  "accept a changed destination, object or match: forget the sync's snapshot and failures and send every row in full";

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('run syncs: plan in the warehouse, write changes to the destination, commit accepted rows')
    .argument('[syncs...]', 'sync names from the config')
    .option('--all', 'run every enabled sync, in depends_on order')
    .option(
      '--allow-mass-removal',
      'let a mirror sync clear more than max_removed_pct of its records, or all of them',
    )
    .option(
      '--fail-on-rejected-pct <pct>',
      'exit 1 instead of 3 when more than this share of sent records was rejected',
    )
    .option('--fail-on-flag-rate', "exit 3 when a sync flags more than its max_flag_rate of the model's rows")
    .option(
      '--after-dbt <path>',
      'skip syncs whose models read dbt nodes that failed in this run_results.json',
    )
    .option(
      '--create-properties',
      'HubSpot: create missing properties during preflight (as create_properties: true)',
    )
    .option('--rematch', REMATCH_HELP)
    .action(async (syncs: string[], _opts: RunFlags, cmd: Command) => {
      process.exitCode = await runCommand(syncs, cmd, false);
    });
  program
    .command('plan')
    .description(
      'dry run: show what a run would add, change and remove; writes nothing anywhere and sends nothing',
    )
    .argument('[syncs...]', 'sync names from the config')
    .option('--all', 'plan every enabled sync')
    .option('--rematch', REMATCH_HELP)
    .action(async (syncs: string[], _opts: RunFlags, cmd: Command) => {
      process.exitCode = await runCommand(syncs, cmd, true);
    });
}

async function runCommand(syncs: string[], cmd: Command, dryRun: boolean): Promise<number> {
  const flags = { ...globalFlags(cmd), ...cmd.opts<RunFlags>() };
  initCli(flags);
  try {
    const loaded = await loadProject(flags, 'on demand');
    // The runner (and the warehouse's and destinations' clients, through their factories) loads when a run
    // starts, not at start-up.
    const [{ runSyncs }, { exitCodeFor }, { WebhookAlerts }, { requireSection }, { readDbtGate }] =
      await Promise.all([
        import('../../runner/run-syncs.js'),
        import('../../runner/run-sync.js'),
        import('../../alerts/webhook-alerts.js'),
        import('../../config/load-config.js'),
        import('../../scheduler/dbt-gate.js'),
      ]);
    const vars = parseVars(flags.vars);
    const failPct = flags.failOnRejectedPct === undefined ? undefined : Number(flags.failOnRejectedPct);
    // Decimal digits only: Number() reads '' as 0 and '0x10' as 16.
    if (failPct !== undefined && (!/^\d+(\.\d+)?$/.test(flags.failOnRejectedPct ?? '') || failPct > 100)) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `--fail-on-rejected-pct must be a number from 0 to 100, got '${flags.failOnRejectedPct}'`,
      );
    }
    const gate = flags.afterDbt && !dryRun ? readDbtGate(flags.afterDbt) : undefined;
    if (loaded.config.alerts && !dryRun) requireSection(loaded, 'alerts');
    const alerts = loaded.config.alerts && !dryRun ? new WebhookAlerts(loaded.config.alerts) : undefined;
    const bar = progressBar(flags.json ?? false);
    // SIGTERM (Airflow's task timeout, systemd, Kubernetes): no new batch; the batches in flight get the grace
    // period to be answered and committed, then the run stops waiting for the CRM (a second signal: at once).
    // Either way the runs row says why, the lock is released, and the exit code is 1.
    const stop = new AbortController();
    const cancel = new AbortController();
    const graceSeconds = loaded.config.scheduler?.shutdown_grace_seconds ?? 60;
    let graceTimer: NodeJS.Timeout | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stop.signal.aborted) {
        logger().warn({ signal }, 'second stop signal: no more waiting for the CRM');
        cancel.abort();
        return;
      }
      logger().warn(
        { signal, graceSeconds },
        `stopping: no new batches; batches in flight have ${graceSeconds} s to be answered and committed`,
      );
      stop.abort();
      graceTimer = setTimeout(() => {
        logger().warn({ graceSeconds }, 'grace period over: no more waiting for the CRM');
        cancel.abort();
      }, graceSeconds * 1000);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const summaries = await runSyncs({
        loaded,
        syncs,
        all: flags.all ?? false,
        dryRun,
        ...(vars ? { vars } : {}),
        allowMassRemoval: flags.allowMassRemoval ?? false,
        ...(flags.rematch ? { rematch: true } : {}),
        ...(flags.createProperties ? { destinationOverrides: { createProperties: true } } : {}),
        onProgress: bar?.update,
        onSummary: () => bar?.stop(),
        signal: stop.signal,
        cancel: cancel.signal,
        ...(gate ? { gate: (g) => gate.blockReason(g.model, g.sql) } : {}),
        ...(alerts ? { tierWatch: (sync) => alerts.tierWatch(sync) } : {}),
      });
      bar?.stop();
      for (const s of summaries) await alerts?.afterRun(s, { quiet: stop.signal.aborted });
      printSummaries(summaries, flags, loaded.config);
      const code = exitWithFlagRatePolicy(
        summaries,
        exitWithRejectPolicy(summaries, exitCodeFor(summaries), failPct),
        flags.failOnFlagRate ?? false,
      );
      // After a stop signal, exit now with the handlers still installed: a request the run stopped waiting for
      // may hold a socket open, and a further signal must not kill the process before its exit code is out.
      if (stop.signal.aborted) process.exit(code);
      return code;
    } finally {
      clearTimeout(graceTimer);
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  } catch (err) {
    return reportError(explainLockHolder(toPqlsyncError(err)), flags);
  }
}

/**
 * The run's exit `code` (`exitCodeFor(summaries)`), or 1 instead of 3 when a sync rejected more than `pct` % of what it sent, saying so on stderr (`say`), since
 * the summary alone reads like a partial run.
 */
export function exitWithRejectPolicy(
  summaries: RunSummary[],
  code: number,
  pct: number | undefined,
  say: (line: string) => void = (line) => process.stderr.write(line),
): number {
  if (code !== EXIT.rejected || pct === undefined) return code;
  const over = summaries.filter((s) => {
    const sent = s.counts.applied + s.counts.rejected;
    return sent > 0 && (s.counts.rejected / sent) * 100 > pct;
  });
  for (const s of over) {
    const sent = s.counts.applied + s.counts.rejected;
    say(
      `pqlsync: ${s.sync} rejected ${s.counts.rejected} of ${sent} records sent (${((s.counts.rejected / sent) * 100).toFixed(1)}%), more than --fail-on-rejected-pct ${pct}: exit 1\n`,
    );
  }
  return over.length > 0 ? EXIT.failed : code;
}

/** cli-progress, loaded when a bar is first drawn: runs off a terminal never load it. */
const loadCliProgress = (): typeof cliProgress =>
  createRequire(import.meta.url)('cli-progress') as typeof cliProgress;

/**
 * Exit 3 (as for rejected records) when `fail` is set and a sync's flag rate is above its max_flag_rate, saying so
 * on stderr; a worse code (2, 1, 4) stands.
 */
export function exitWithFlagRatePolicy(
  summaries: readonly RunSummary[],
  code: number,
  fail: boolean,
  say: (line: string) => void = (line) => process.stderr.write(line),
): number {
  if (!fail) return code;
  const over = summaries.filter((s) => s.flagRate?.exceeded);
  for (const s of over) {
    const fr = s.flagRate!;
    say(
      `pqlsync: ${s.sync} flagged ${percent(fr.rate)} of its rows, more than max_flag_rate ${percent(fr.max)}, with --fail-on-flag-rate: exit ${code === EXIT.success ? EXIT.rejected : code}\n`,
    );
  }
  return over.length > 0 && code === EXIT.success ? EXIT.rejected : code;
}

/**
 * A progress bar on stderr for long writes, only on a TTY and never with --json. While it is drawn, log lines are
 * printed above it (cli-progress clears the bar, writes them, and draws it again) instead of into it.
 */
export function progressBar(
  json: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): { update: (sync: string, done: number, total: number) => void; stop: () => void } | undefined {
  if (json || !stream.isTTY) return undefined;
  let bars: cliProgress.MultiBar | undefined;
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  const stop = () => {
    // cli-progress prints buffered log lines only when it redraws; stop() alone would drop the last ones.
    (bars as unknown as { update(): void } | undefined)?.update();
    bars?.stop();
    bars = undefined;
    bar = undefined;
    setHumanLogSink(undefined);
  };
  return {
    update(sync, done, total) {
      if (total < 1000) return;
      if (!bar || current !== sync) {
        stop();
        current = sync;
        const { MultiBar, Presets } = loadCliProgress();
        const multi = new MultiBar(
          {
            format: `${sync} [{bar}] {value}/{total} records {percentage}% eta {eta}s`,
            stream,
          },
          Presets.shades_classic,
        );
        bars = multi;
        bar = multi.create(total, 0);
        setHumanLogSink((line) => multi.log(line));
      }
      bar.update(done);
    },
    stop,
  };
}
