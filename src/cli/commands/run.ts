/**
 * `pqlsync run <sync...> | --all` and `pqlsync plan <sync...> | --all`.
 */
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { exitCodeFor, type RunSummary } from '../../runner/run-sync.js';
import { runSyncs } from '../../runner/run-syncs.js';
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
import { WebhookAlerts } from '../../alerts/webhook-alerts.js';
import { readDbtGate } from '../../scheduler/dbt-gate.js';
import { explainLockHolder } from '../../scheduler/lock-holder-process.js';

interface RunFlags {
  all?: boolean;
  allowMassRemoval?: boolean;
  failOnRejectedPct?: string;
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
    const loaded = loadProject(flags);
    const vars = parseVars(flags.vars);
    const failPct = flags.failOnRejectedPct === undefined ? undefined : Number(flags.failOnRejectedPct);
    if (failPct !== undefined && (!Number.isFinite(failPct) || failPct < 0 || failPct > 100)) {
      throw new PqlsyncError(
        'ARGS_INVALID',
        `--fail-on-rejected-pct must be a number from 0 to 100, got '${flags.failOnRejectedPct}'`,
      );
    }
    const gate = flags.afterDbt && !dryRun ? readDbtGate(flags.afterDbt) : undefined;
    const alerts = loaded.config.alerts && !dryRun ? new WebhookAlerts(loaded.config.alerts) : undefined;
    const bar = progressBar(flags.json ?? false);
    // SIGTERM (Airflow's task timeout, systemd, Kubernetes): finish and commit the batch in flight, then exit 1.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
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
      ...(gate ? { gate: (g) => gate.blockReason(g.model, g.sql) } : {}),
      ...(alerts ? { tierWatch: (sync) => alerts.tierWatch(sync) } : {}),
    }).finally(() => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
    bar?.stop();
    for (const s of summaries) await alerts?.afterRun(s, { quiet: stop.signal.aborted });
    printSummaries(summaries, flags);
    return exitWithRejectPolicy(summaries, failPct);
  } catch (err) {
    return reportError(explainLockHolder(toPqlsyncError(err)), flags);
  }
}

/** Exit 1 instead of 3 when a sync rejected more than `pct` % of what it sent. */
export function exitWithRejectPolicy(summaries: RunSummary[], pct: number | undefined): number {
  const code = exitCodeFor(summaries);
  if (code !== EXIT.rejected || pct === undefined) return code;
  const over = summaries.some((s) => {
    const sent = s.counts.applied + s.counts.rejected;
    return sent > 0 && (s.counts.rejected / sent) * 100 > pct;
  });
  return over ? EXIT.failed : code;
}

/** A progress bar on stderr for long writes, only on a TTY and never with --json. */
function progressBar(
  json: boolean,
): { update: (sync: string, done: number, total: number) => void; stop: () => void } | undefined {
  if (json || !process.stderr.isTTY) return undefined;
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  return {
    update(sync, done, total) {
      if (total < 1000) return;
      if (!bar || current !== sync) {
        bar?.stop();
        current = sync;
        bar = new cliProgress.SingleBar(
          {
            format: `${sync} [{bar}] {value}/{total} records {percentage}% eta {eta}s`,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0);
      }
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
