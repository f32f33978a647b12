/**
 * `pqlsync report <sync>`: SLA and conversion of a routed sync by tier, route and owner, against the not-flagged
 * base rate, over a period, from the state schema (task_log, the snapshot, and what `pqlsync pull` read back).
 */
import { Command } from 'commander';
import { PqlsyncError } from '../../errors/pqlsync-error.js';
import { globalFlags, initCli, loadProject, reportError } from '../cli-context.js';

const DAY = 86_400_000;

/** A `--since`/`--until` value: a date (`2026-01-01`, UTC midnight) or an ISO-8601 date-time. */
export function parseReportDate(flag: string, value: string): Date {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t))
    throw new PqlsyncError(
      'ARGS_INVALID',
      `${flag} must be a date (2026-01-31) or an ISO-8601 date-time, got '${value}'`,
    );
  return new Date(t);
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'SLA met, time to completion and PQL-to-opportunity rates of a routed sync, against the base rate',
    )
    .argument('<sync>', 'the routed sync')
    .option('--since <date>', 'start of the period (default: 90 days before --until)')
    .option('--until <date>', 'end of the period, exclusive (default: now)')
    .option('--out <file>', 'also write a self-contained HTML report')
    .action(async (sync: string, opts: { since?: string; until?: string; out?: string }, cmd: Command) => {
      const flags = globalFlags(cmd);
      initCli(flags);
      try {
        const until = opts.until ? parseReportDate('--until', opts.until) : new Date();
        const since = opts.since
          ? parseReportDate('--since', opts.since)
          : new Date(until.getTime() - 90 * DAY);
        const loaded = await loadProject(flags, 'warehouse');
        const [{ buildLoopReport }, { renderLoopText, writeLoopHtml }, { createWarehouse }] =
          await Promise.all([
            import('../../report/loop-report.js'),
            import('../../report/render-loop-report.js'),
            import('../../warehouse/create-warehouse.js'),
          ]);
        const wh = await createWarehouse(loaded);
        await wh.connect();
        try {
          const report = await buildLoopReport({ loaded, warehouse: wh, sync, since, until });
          if (opts.out) writeLoopHtml(report, opts.out);
          process.stdout.write(flags.json ? JSON.stringify(report) + '\n' : renderLoopText(report));
          if (opts.out && !flags.json) process.stdout.write(`report: ${opts.out}\n`);
        } finally {
          await wh.close();
        }
      } catch (err) {
        process.exitCode = reportError(err, flags);
      }
    });
}
